# MySQL backup helpers, sourced by the mysql-*.sh scripts of this folder (never run). They run in
# the official mysql:8.0.39 image (mysqldump, mysqlbinlog, mysql, mysqld, bash, coreutils, sed,
# grep; no awk, no jq) with restic beside it, and in the tests against MariaDB 10.11.
#
# How the pieces fit (one server's binary logs, MYSQL_HOST, replica 0 when replicas exist):
#   full      mysqldump --single-transaction of MYSQL_DATABASE with that server's binlog coordinates
#             (file F, position P), tagged with them and with the identity of F (`binlog-head`, see
#             binlog_head); beside it a `counts` snapshot: each table's row count at a binlog
#             position taken after the dump.
#   archive   every closed binary log of the same server, one snapshot per file, tagged with its
#             chain, sequence number, identity and first/last event times.
#   restore   the latest full before the target, then the archived files of its chain from (F, P)
#             up to the target, replayed through mysqlbinlog.
# A chain is one lineage of binary-log files: it is found from a full through F's identity, and a
# server whose numbering restarted (a re-cloned replica: RESET MASTER, a new volume) starts a new
# chain, so a restore never mixes files of two lineages that share names. A file missing inside a
# chain (purged before it was archived) is a gap: restores refuse to replay across it by default.
#
# Flavours: production runs MySQL 8.0; the tests run MariaDB 10.11. What differs is in functions
# named mysql_* / mariadb_*, chosen by the client tools' --version (FLAVOUR) or, for the scratch
# server of the restore test, by `mysqld --version`.
#
# Environment (besides restic.sh's RESTIC, RESTIC_PASSWORD, BACKUP_HOST, LOCK_WAIT_SECONDS):
#   MYSQL_HOST, MYSQL_PORT   the server [required, 3306]
#   MYSQL_BACKUP_USER        account the scripts log in as [root]
#   MYSQL_PWD                its password [required]
#   MYSQL_DATABASE           the database backed up and restored [required]
#   RESTIC_REPOSITORY        full backups and their counts [required]
#   ARCHIVE_REPOSITORY       archived binary logs [required]
#   KEEP_FULL_DAYS           retention of fulls (binary logs: as long as the oldest full needs) [30]
# shellcheck shell=bash

# shellcheck source=lib/backup/restic.sh
. "${BACKUP_LIB:-$(dirname "${BASH_SOURCE[0]}")/restic.sh}"

MYSQL_PORT="${MYSQL_PORT:-3306}"
MYSQL_BACKUP_USER="${MYSQL_BACKUP_USER:-root}"
KEEP_FULL_DAYS="${KEEP_FULL_DAYS:-30}"
FLAVOUR=
# The file name of the dump inside a full snapshot, and of the counts inside a counts snapshot.
DUMP_FILE=dump.sql
# shellcheck disable=SC2034 # used by the scripts that source this file
COUNTS_FILE=counts.tsv

require() {
  local name
  for name in "$@"; do [ -n "${!name:-}" ] || die "$name must be set"; done
}

# Prints a [client] option group for user $1 with password $2 (credentials never on a command line,
# where `ps` shows them). Inside double quotes the option-file parser reads \\ as \ and \" as ".
client_options() {
  local password=${2//\\/\\\\}
  password=${password//\"/\\\"}
  printf '[client]\nuser="%s"\npassword="%s"\n' "$1" "$password"
}

# Where SQL goes: the server by default; the restore test points these at its scratch server.
TARGET_USER="$MYSQL_BACKUP_USER"
TARGET_PASSWORD="${MYSQL_PWD:-}"
TARGET_CONNECTION=(--protocol=TCP "--host=${MYSQL_HOST:-}" "--port=$MYSQL_PORT")

# source_sql [options...]: statements on stdin (or -e) on MYSQL_HOST, rows tab-separated, no header.
source_sql() {
  mysql --defaults-extra-file=<(client_options "$MYSQL_BACKUP_USER" "${MYSQL_PWD:-}") \
    --protocol=TCP --host="$MYSQL_HOST" --port="$MYSQL_PORT" --batch --skip-column-names "$@"
}

# target_sql [options...]: the same on the server a restore writes to.
# shellcheck disable=SC2120 # the scripts pass options (-e ...)
target_sql() {
  mysql --defaults-extra-file=<(client_options "$TARGET_USER" "$TARGET_PASSWORD") \
    "${TARGET_CONNECTION[@]}" --batch --skip-column-names --max-allowed-packet=1G "$@"
}

# sql_string VALUE / sql_name NAME: a quoted SQL string literal / identifier.
sql_string() {
  local value=${1//\\/\\\\}
  value=${value//\'/\\\'}
  printf "'%s'" "$value"
}
sql_name() {
  local quote='`'
  printf '%s%s%s' "$quote" "${1//$quote/$quote$quote}" "$quote"
}

detect_flavour() {
  local version
  version="$(mysqldump --version)" || die "mysqldump --version failed"
  case "$version" in
    *MariaDB*) FLAVOUR=mariadb ;;
    *) FLAVOUR=mysql ;;
  esac
}

# Seconds and bytes -> a throughput line on stderr.
report_throughput() {
  local what="$1" bytes="$2" seconds="$3"
  [ "$seconds" -gt 0 ] || seconds=1
  log "$what: $bytes bytes in ${seconds}s, $(( bytes / seconds / 1000000 )).$(( bytes / seconds / 10000 % 100 )) MB/s"
}

# The repository $1 must exist (a restore or check never creates one); stale locks of killed jobs go.
open_repository() {
  RESTIC_REPOSITORY="$1" "$RESTIC" cat config >/dev/null || die "cannot open restic repository $1 (missing, or wrong password)"
  RESTIC_REPOSITORY="$1" "$RESTIC" unlock >&2
}

# tag_value LINE NAME: sets REPLY to the value of tag NAME=... in snapshot JSON LINE ("" if none).
# Bash only: called for every archived file, so no process per call.
tag_value() {
  REPLY=
  if [[ $1 =~ \"$2=([^\"]*)\" ]]; then REPLY="${BASH_REMATCH[1]}"; fi
}

# snapshot_file_blobs REPO ID LIST: the data blob ids of the one file of snapshot ID, in order, one
# a line into the file LIST; its size into SNAPSHOT_FILE_SIZE. Reading a blob reads a few MiB, not
# the whole file: this is how the head and the tail of a 100 GiB dump are checked in the repository.
SNAPSHOT_FILE_SIZE=0
snapshot_file_blobs() {
  local repo="$1" id="$2" list="$3" tree listing
  tree="$(restic_in "$repo" cat snapshot "$id" --no-lock | sed -n 's/.*"tree": *"\([0-9a-f]*\)".*/\1/p')"
  [ -n "$tree" ] || { log "snapshot $id has no tree"; return 1; }
  listing="$(restic_in "$repo" cat blob "$tree" --no-lock)" || return 1
  SNAPSHOT_FILE_SIZE="$(printf '%s' "$listing" | grep -o '"size": *[0-9]*' | head -n 1 | grep -o '[0-9]*$')"
  printf '%s' "$listing" | grep -o '"content": *\[[^]]*\]' | { grep -o '[0-9a-f]\{64\}' || true; } >"$list"
}

# snapshot_head_tail REPO ID DIR: writes DIR/head (the first blob) and DIR/tail (the last two
# blobs: a line may straddle two) of the snapshot's file, as stored in the repository.
snapshot_head_tail() {
  local repo="$1" id="$2" dir="$3" blobs=() blob
  snapshot_file_blobs "$repo" "$id" "$dir/blobs" || return 1
  mapfile -t blobs <"$dir/blobs"
  : >"$dir/head"; : >"$dir/tail"
  [ "${#blobs[@]}" -gt 0 ] || return 0
  restic_in "$repo" cat blob "${blobs[0]}" --no-lock >"$dir/head" || return 1
  local from=$(( ${#blobs[@]} > 2 ? ${#blobs[@]} - 2 : 0 ))
  for blob in "${blobs[@]:$from}"; do
    restic_in "$repo" cat blob "$blob" --no-lock >>"$dir/tail" || return 1
  done
}

# The binlog coordinates mysqldump wrote as a comment (--source-data=2 / --master-data=2) in the
# dump head $1 (a file): "FILE POSITION". MySQL 8.0.26+ says SOURCE_LOG_*, MariaDB MASTER_LOG_*.
dump_coordinates() {
  local line
  line="$(grep -m 1 -oE "(MASTER|SOURCE)_LOG_FILE='[^']+', *(MASTER|SOURCE)_LOG_POS=[0-9]+" "$1")" || return 1
  printf '%s %s\n' "$(printf '%s' "$line" | sed -E "s/.*_LOG_FILE='([^']+)'.*/\1/")" "${line##*=}"
}

# binlog_sequence NAME: the number of a binary-log file name (mysql-bin.000042 -> 42).
binlog_sequence() {
  local suffix="${1##*.}"
  [[ $suffix =~ ^[0-9]+$ ]] || die "binary log $1 has no sequence number"
  printf '%d\n' "$((10#$suffix))"
}

# binlog_head FILE: the identity of the server's binary log FILE, a hash of its first two events
# (the format description, then the GTID set the file starts after: Previous_gtids on MySQL,
# Gtid_list on MariaDB). Files of one lineage keep it; a file of the same name in a restarted
# numbering starts after another GTID set (unless nothing at all was written in between).
binlog_head() {
  local events
  events="$(source_sql -e "SHOW BINLOG EVENTS IN $(sql_string "$1") LIMIT 2")" || return 1
  [ -n "$events" ] || { log "SHOW BINLOG EVENTS IN $1 returned nothing"; return 1; }
  printf '%s\n' "$events" | cut -f 3,6 | md5sum | cut -c 1-16
}

# binlog_times FILE: "FIRST LAST", the epoch seconds of the first and last events of a local
# binary-log file (mysqlbinlog prints them as `#YYMMDD HH:MM:SS server id`, in TZ).
binlog_times() {
  local stamps first last
  stamps="$(TZ=UTC mysqlbinlog "$1" | sed -n -E 's/^#([0-9]{6}) +([0-9]{1,2}:[0-9]{2}:[0-9]{2}) +server id.*/\1 \2/p' | sed -n '1p;$p'
    pipeline_ok "${PIPESTATUS[@]}")" || { log "mysqlbinlog could not read $1"; return 1; }
  [ -n "$stamps" ] || { log "no events in $1"; return 1; }
  first="$(stamp_epoch "$(printf '%s\n' "$stamps" | head -n 1)")"
  last="$(stamp_epoch "$(printf '%s\n' "$stamps" | tail -n 1)")"
  printf '%s %s\n' "$first" "$last"
}
stamp_epoch() {
  local d="${1%% *}" t="${1#* }"
  date -u -d "20${d:0:2}-${d:2:2}-${d:4:2} $t" +%s
}

# epoch_text EPOCH: RFC 3339 UTC.
epoch_text() {
  date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# --- MySQL 8.0 only (tested with recording stand-ins for the clients) -------------------------

# --source-data=2: the dumped server's own binlog coordinates, as a comment. --set-gtid-purged=OFF:
# no SET @@GLOBAL.GTID_PURGED (which a primary with transactions refuses) and no sql_log_bin=0, so
# a restore's load is binary-logged and the replicas follow it.
mysql_dump_options() {
  printf '%s\n' --source-data=2 --set-gtid-purged=OFF
}

# Binary logs as SQL for a restore: --skip-gtids, since the events carry the primary's own GTIDs,
# which the primary has executed already and would silently skip; replayed without, they get new
# GTIDs and replicate.
mysql_binlog_sql() {
  TZ=UTC mysqlbinlog --skip-gtids "$@"
}

# --- MariaDB 10.11 equivalents (tested against real servers) ----------------------------------

mariadb_dump_options() {
  printf '%s\n' --master-data=2
}

# MariaDB's mysqlbinlog has no --skip-gtids: it sets each event's domain, server id and sequence
# number, which gtid_strict_mode refuses (out of order) and which would keep the original server
# id, which that server's replication then ignores as its own. The lines go; the events get new
# GTIDs. binlog_annotate_row_events off for the replay: the server would otherwise log each
# replayed BINLOG statement (as large as the rows of the original statement) as an Annotate_rows
# event, which no reader with max_allowed_packet below its size can read back (mysqldump
# --master-data then crashes on the server's binary log, replicas of it fail).
mariadb_binlog_sql() {
  printf 'SET SESSION binlog_annotate_row_events = OFF;\n'
  TZ=UTC mysqlbinlog "$@" | sed -E '/^\/\*M!100001 SET @@session\.(gtid_seq_no|server_id|gtid_domain_id)=[0-9]+\*\/\/\*!\*\/;$/d'
  pipeline_ok "${PIPESTATUS[@]}"
}

# --- restore planning (shared by mysql-restore.sh and mysql-restore-test.sh) --------------------

# plan_chain FULL_LINE: the archived files of the full's chain from its binlog file on, as lines
# "SEQ ID FILE START END HEAD" sorted by sequence number, into PLAN_FILES (an array); PLAN_CHAIN the chain
# ("" when the full's file was never archived).
PLAN_FILES=()
PLAN_CHAIN=
plan_chain() {
  local full="$1" file head line seq start_seq id name start end chain identity
  tag_value "$full" binlog-file; file="$REPLY"
  tag_value "$full" binlog-head; head="$REPLY"
  PLAN_FILES=(); PLAN_CHAIN=
  local archived=()
  mapfile -t archived < <(restic_snapshots "$ARCHIVE_REPOSITORY" binlog)
  for line in "${archived[@]}"; do
    tag_value "$line" file; name="$REPLY"
    tag_value "$line" head
    if [ "$name" = "$file" ] && [ "$REPLY" = "$head" ]; then tag_value "$line" chain; PLAN_CHAIN="$REPLY"; fi
  done
  [ -n "$PLAN_CHAIN" ] || return 0
  start_seq="$(binlog_sequence "$file")"
  local rows=()
  for line in "${archived[@]}"; do
    tag_value "$line" chain; chain="$REPLY"
    [ "$chain" = "$PLAN_CHAIN" ] || continue
    tag_value "$line" seq; seq="$REPLY"
    [ "$seq" -ge "$start_seq" ] || continue
    id="$(snapshot_id "$line")"
    tag_value "$line" file; name="$REPLY"
    tag_value "$line" start; start="$REPLY"
    tag_value "$line" end; end="$REPLY"
    tag_value "$line" head; identity="$REPLY"
    rows+=("$seq $id $name $start $end $identity")
  done
  # One snapshot per file (the newest, should a file have been archived twice).
  [ "${#rows[@]}" -gt 0 ] && mapfile -t PLAN_FILES < <(printf '%s\n' "${rows[@]}" | tac | sort -s -k1,1n -u)
  return 0
}

# contiguous_files START_SEQ: sets PLAN_COUNT to how many entries of PLAN_FILES follow each other
# without a missing sequence number, starting at START_SEQ, and PLAN_GAP to the first gap's files.
PLAN_GAP=
PLAN_COUNT=0
# shellcheck disable=SC2034 # PLAN_GAP and PLAN_COUNT are read by the scripts
contiguous_files() {
  local expected="$1" n=0 entry seq name
  PLAN_GAP=
  for entry in "${PLAN_FILES[@]}"; do
    read -r seq _ name _ <<<"$entry"
    if [ "$seq" -ne "$expected" ]; then
      PLAN_GAP="missing $(printf '%s.%06d' "${name%.*}" "$expected") to $(printf '%s.%06d' "${name%.*}" $((seq - 1)))"
      break
    fi
    n=$((n + 1)); expected=$((seq + 1))
  done
  PLAN_COUNT="$n"
}

# fetch_binlogs DIR COUNT: the first COUNT files of PLAN_FILES restored from the archive into DIR,
# each checked by decoding it (before any data is touched). Prints their paths, one a line.
fetch_binlogs() {
  local dir="$1" count="$2" i=0 entry seq id name
  for entry in "${PLAN_FILES[@]}"; do
    [ "$i" -lt "$count" ] || break
    read -r seq id name _ <<<"$entry"
    restic_in "$ARCHIVE_REPOSITORY" dump --no-lock "$id" "$name" >"$dir/$name" || die "could not read archived binary log $name (snapshot $id)"
    TZ=UTC mysqlbinlog "$dir/$name" >/dev/null || die "archived binary log $name (snapshot $id) does not decode"
    printf '%s\n' "$dir/$name"
    i=$((i + 1))
  done
}

# load_full FULL_LINE: the full's dump streamed from the repository into the target server.
load_full() {
  local id started bytes
  id="$(snapshot_id "$1")"
  started=$(date +%s)
  restic_in "$RESTIC_REPOSITORY" dump --no-lock "$id" "$DUMP_FILE" | target_sql --comments
  pipeline_ok "${PIPESTATUS[@]}" || die "loading the full backup $id failed"
  snapshot_file_blobs "$RESTIC_REPOSITORY" "$id" /dev/null || true
  bytes="$SNAPSHOT_FILE_SIZE"
  report_throughput "full backup $id loaded" "$bytes" $(( $(date +%s) - started ))
}

# replay_binlogs POSITION FILES... [-- mysqlbinlog options]: the events of MYSQL_DATABASE from
# POSITION of the first file on, into the target server.
replay_binlogs() {
  local position="$1" started bytes=0 files=() options=() f; shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  options=("$@")
  [ "${#files[@]}" -gt 0 ] || return 0
  for f in "${files[@]}"; do bytes=$((bytes + $(stat -c %s "$f"))); done
  started=$(date +%s)
  "${FLAVOUR}_binlog_sql" --database="$MYSQL_DATABASE" --start-position="$position" "${options[@]}" "${files[@]}" | target_sql --comments
  pipeline_ok "${PIPESTATUS[@]}" || die "replaying the binary logs failed"
  report_throughput "binary logs replayed (${#files[@]} files)" "$bytes" $(( $(date +%s) - started ))
}
