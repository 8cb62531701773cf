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

# full_format FULL_LINE: `physical` for a file copy (tag format=physical), `dump` otherwise (the
# dumps taken before the tag existed carry none).
full_format() {
  tag_value "$1" format
  printf '%s\n' "${REPLY:-dump}"
}

# plan_restore TARGET_EPOCH ALLOW_GAPS FORMAT: chooses what a restore to TARGET_EPOCH ("" = the latest
# archived event) replays, from the promoted fulls of FORMAT (dump | physical) only, or dies with
# the refusal naming the restorable range. Everything is read from the repositories: nothing is
# touched. Sets RESTORE_FULL (the full's JSON line), RESTORE_FULL_ID, RESTORE_FULL_TIME,
# RESTORE_POSITION (its binlog position), RESTORE_USE (how many files of PLAN_FILES to replay) and
# RESTORE_STOP_OPTIONS (mysqlbinlog's --stop-datetime, or none). TARGET_TEXT names the target.
RESTORE_FULL=; RESTORE_FULL_ID=; RESTORE_FULL_TIME=; RESTORE_POSITION=; RESTORE_USE=0
RESTORE_STOP_OPTIONS=()
# shellcheck disable=SC2034 # the RESTORE_* results are read by the scripts
plan_restore() {
  local target_epoch="$1" allow_gaps="$2" format="$3" target="${TARGET_TEXT:-latest}"
  local lines=() fulls=() line t oldest_time='' full='' latest_full='' latest_time='' best='' entry end
  mapfile -t lines < <(restic_snapshots "$RESTIC_REPOSITORY" full)
  for line in "${lines[@]}"; do
    [ -n "$line" ] && [ "$(full_format "$line")" = "$format" ] && fulls+=("$line")
  done
  [ -n "${fulls[0]:-}" ] || die "no $format full backup in $RESTIC_REPOSITORY: nothing to restore"
  for line in "${fulls[@]}"; do
    tag_value "$line" time; t="$REPLY"
    if [ -z "$oldest_time" ] || [ "$t" -lt "$oldest_time" ]; then oldest_time="$t"; fi
    if [ -z "$latest_time" ] || [ "$t" -ge "$latest_time" ]; then latest_time="$t"; latest_full="$line"; fi
  done
  if [ -z "$target_epoch" ]; then
    full="$latest_full"
  else
    for line in "${fulls[@]}"; do
      tag_value "$line" time
      if [ "$REPLY" -le "$target_epoch" ] && { [ -z "$best" ] || [ "$REPLY" -ge "$best" ]; }; then best="$REPLY"; full="$line"; fi
    done
  fi

  # reach LINE: sets REACH (last restorable epoch), COUNT (files to replay) and GAP for a full.
  reach() {
    local line="$1" seq file
    tag_value "$line" time; REACH="$REPLY"
    tag_value "$line" binlog-file; file="$REPLY"; seq="$(binlog_sequence "$file")"
    plan_chain "$line"
    COUNT=0; GAP=
    if [ -z "$PLAN_CHAIN" ]; then
      GAP="its binary log $file was never archived"
      return 0
    fi
    contiguous_files "$seq"; COUNT="$PLAN_COUNT"; GAP="$PLAN_GAP"
    if [ -n "$allow_gaps" ]; then COUNT="${#PLAN_FILES[@]}"; fi
    if [ "$COUNT" -gt 0 ]; then
      local last="${PLAN_FILES[$((COUNT - 1))]}"
      read -r _ _ _ _ REACH _ <<<"$last"
    fi
  }

  if [ -z "$full" ]; then
    reach "$latest_full"
    die "refused: target $target is before the oldest full backup of format $format ($(epoch_text "$oldest_time")); restorable range: $(epoch_text "$oldest_time") to $(epoch_text "$REACH")"
  fi
  reach "$full"
  RESTORE_FULL="$full"
  RESTORE_FULL_ID="$(snapshot_id "$full")"
  tag_value "$full" time; RESTORE_FULL_TIME="$REPLY"
  tag_value "$full" binlog-pos; RESTORE_POSITION="$REPLY"
  if [ -n "$target_epoch" ] && [ "$target_epoch" -gt "$REACH" ]; then
    # The latest full reaches furthest; name that range.
    local message
    reach "$latest_full"
    message="refused: target $target is after the last archived event reachable ($(epoch_text "$REACH")); restorable range: $(epoch_text "$oldest_time") to $(epoch_text "$REACH")"
    if [ -n "$GAP" ]; then message="$message; the archive after it has a gap ($GAP): --allow-gaps replays across it, losing what the missing files held"; fi
    die "$message"
  fi
  [ -z "$allow_gaps" ] || [ -z "$GAP" ] || log "WARNING: --allow-gaps: replaying across a gap in the archive ($GAP)"

  # The files up to the first that ends at or after the target (mysqlbinlog stops at the first event
  # stamped at or after it).
  RESTORE_USE="$COUNT"
  RESTORE_STOP_OPTIONS=()
  if [ -n "$target_epoch" ]; then
    RESTORE_USE=0
    for entry in "${PLAN_FILES[@]:0:$COUNT}"; do
      RESTORE_USE=$((RESTORE_USE + 1))
      read -r _ _ _ _ end _ <<<"$entry"
      [ "$end" -lt "$target_epoch" ] || break
    done
    RESTORE_STOP_OPTIONS=(--stop-datetime="$(date -u -d "@$target_epoch" '+%Y-%m-%d %H:%M:%S')")
  fi
}

# parse_target TEXT: sets TARGET_TEXT and TARGET_EPOCH ("" for latest) from an RFC 3339 time with a
# zone or `latest`, or dies.
# shellcheck disable=SC2034 # read by the scripts
TARGET_TEXT=latest; TARGET_EPOCH=
# shellcheck disable=SC2034 # TARGET_EPOCH is read by the scripts
parse_target() {
  TARGET_TEXT="$1"; TARGET_EPOCH=
  [ "$1" != latest ] || return 0
  [[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$ ]] \
    || die "target time '$1' is not an RFC 3339 time with a zone (e.g. 2025-03-01T12:00:00Z)"
  TARGET_EPOCH="$(date -u -d "$1" +%s)" || die "target time '$1' is not a valid time"
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

# replay_binlogs POSITION FILES... [-- mysqlbinlog options]: the events of REPLAY_DATABASE
# (MYSQL_DATABASE; empty: every database, as after a physical full, a copy of the whole server)
# from POSITION of the first file on, into the target server.
REPLAY_DATABASE="${MYSQL_DATABASE:-}"
replay_binlogs() {
  local position="$1" started bytes=0 files=() options=() f filter=(); shift
  [ -z "$REPLAY_DATABASE" ] || filter=(--database="$REPLAY_DATABASE")
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  options=("$@")
  [ "${#files[@]}" -gt 0 ] || return 0
  for f in "${files[@]}"; do bytes=$((bytes + $(stat -c %s "$f"))); done
  started=$(date +%s)
  "${FLAVOUR}_binlog_sql" "${filter[@]}" --start-position="$position" "${options[@]}" "${files[@]}" | target_sql --comments
  pipeline_ok "${PIPESTATUS[@]}" || die "replaying the binary logs failed"
  report_throughput "binary logs replayed (${#files[@]} files)" "$bytes" $(( $(date +%s) - started ))
}

# --- physical fulls (fullBackupSource `volume`) ---------------------------------------------------
# A copy of replica 0's data files taken by Percona XtraBackup (MySQL) or mariadb-backup (MariaDB)
# from its volume, mounted read-only on its node, while the server runs: one xbstream file in the
# snapshot, tagged `format=physical`. Restores extract it, `--prepare` it (apply the redo copied
# during the backup) and start a server on it.

# The file name of the stream inside a physical full snapshot.
PHYSICAL_FILE=backup.xbstream

# tool_options: the option group the backup tools read the credentials from (never on a command
# line). Percona XtraBackup and mariadb-backup both read [xtrabackup].
tool_options() {
  client_options "$MYSQL_BACKUP_USER" "${MYSQL_PWD:-}" | sed '1s/.*/[xtrabackup]/'
}

# tool_completed LOG: the tool's log ends with its `completed OK!` line (both tools print it last;
# PXB 8.0 prefixes it with a timestamp and [Note] [MY-011825] [Xtrabackup]).
tool_completed() {
  grep -v '^[[:space:]]*$' "$1" | tail -n 1 | grep -q 'completed OK!$'
}

# tool_coordinates LOG: "FILE POSITION", the binlog coordinates the tool printed (both tools:
# `MySQL binlog position: filename 'mysql-bin.000003', position '782'[, GTID of the last change ...]`),
# those of the copied server's own binary log at the copy's consistent point.
tool_coordinates() {
  local line
  line="$(grep -oE "MySQL binlog position: filename '[^']+', position '?[0-9]+" "$1" | tail -n 1)" || return 1
  printf '%s %s\n' "$(printf '%s' "$line" | sed -E "s/.*filename '([^']+)'.*/\1/")" "${line##*[ \']}"
}

# --- MySQL 8.0: Percona XtraBackup 8.0.35+ (tested with recording stand-ins) -----------------------

# physical_backup WORKDIR: the stream on stdout, the log on stderr. The data files are read from
# MYSQL_DATA_DIR (the mounted volume), the server is asked over TCP for its lock and coordinates.
# The credentials go in a file beside WORKDIR (owner-only), not a <(...) pipe: xtrabackup 8.0 reads
# its option files once for the server groups and again for the client groups (handle_options), and
# a pipe is empty the second time, so user and password would never reach the connection.
mysql_physical_backup() {
  (umask 077 && tool_options >"$1.cnf") || return 1
  xtrabackup --defaults-extra-file="$1.cnf" --backup --stream=xbstream \
    --host="$MYSQL_HOST" --port="$MYSQL_PORT" --datadir="$MYSQL_DATA_DIR" --target-dir="$1" --tmpdir="$1"
}
# physical_extract DIR: the stream on stdin unpacked into DIR.
mysql_physical_extract() {
  xbstream -x -C "$1"
}
# physical_prepare DIR: the redo copied during the backup applied; the log on stderr.
mysql_physical_prepare() {
  xtrabackup --prepare --target-dir="$1" --use-memory="${PREPARE_MEMORY:-256M}"
}

# --- MariaDB 10.11: mariadb-backup and mbstream (tested against real servers) ----------------------

mariadb_physical_backup() {
  # A file, not a pipe: the tool reads its option files twice (as xtrabackup, which it forks).
  (umask 077 && tool_options >"$1.cnf") || return 1
  mariadb-backup --defaults-extra-file="$1.cnf" --backup --stream=xbstream \
    --host="$MYSQL_HOST" --port="$MYSQL_PORT" --protocol=TCP --datadir="$MYSQL_DATA_DIR" --target-dir="$1" --tmpdir="$1"
}
mariadb_physical_extract() {
  mbstream -x -C "$1"
}
mariadb_physical_prepare() {
  mariadb-backup --prepare --target-dir="$1" --use-memory="${PREPARE_MEMORY:-256M}"
}

# extract_prepare ID DIR: physical full ID streamed out of the repository and unpacked into DIR (which
# must not exist), then prepared; throughput lines for both. Dies on any failure.
extract_prepare() {
  local id="$1" dir="$2" start bytes
  mkdir -p "$dir"
  start=$(now_us)
  restic_in "$RESTIC_REPOSITORY" dump --no-lock "$id" "$PHYSICAL_FILE" | "${FLAVOUR}_physical_extract" "$dir"
  pipeline_ok "${PIPESTATUS[@]}" || die "extracting the physical full backup $id failed"
  bytes="$(du -sb "$dir" | cut -f 1)"
  log_throughput "physical full backup $id extracted" "$bytes" $(( $(now_us) - start ))
  start=$(now_us)
  "${FLAVOUR}_physical_prepare" "$dir" 2>"$dir.prepare.log" || die "preparing the physical full backup $id failed: $(tail -n 20 "$dir.prepare.log")"
  tool_completed "$dir.prepare.log" || die "preparing the physical full backup $id did not end with 'completed OK!': $(tail -n 20 "$dir.prepare.log")"
  rm -f "$dir.prepare.log"
  log_throughput "physical full backup $id prepared" "$bytes" $(( $(now_us) - start ))
}

# --- private servers (the restore test's scratch server, the physical restore's) -------------------
# mysqld on a data directory of the job's own, unix socket only, no network, none of the image's
# configuration (its /etc/my.cnf names directories of the image). MYSQLD is the server binary
# [mysqld]; SCRATCH_MYSQLD_OPTIONS extra options, space-separated; SCRATCH_START_SECONDS how long it
# may take to accept connections [300].
MYSQLD="${MYSQLD:-mysqld}"
PRIVATE_PID=
SERVER_FLAVOUR=
RUN_AS=()

# server_flavour: SERVER_FLAVOUR from `mysqld --version`; mysqld refuses to run as root unless told
# to (the pods run as the mysql user; the tests as root).
# shellcheck disable=SC2034 # SERVER_FLAVOUR is read by the scripts
server_flavour() {
  case "$("$MYSQLD" --version)" in
    *MariaDB*) SERVER_FLAVOUR=mariadb ;;
    *) SERVER_FLAVOUR=mysql ;;
  esac
  if [ "$(id -u)" -eq 0 ]; then RUN_AS=(--user=root); fi
}

# MySQL 8.0: an empty data directory DIR with a password-less root; no binary log, no X protocol.
mysql_scratch_init() {
  "$MYSQLD" --no-defaults --initialize-insecure --datadir="$1" "${RUN_AS[@]}"
}
mysql_scratch_options() {
  printf '%s\n' --skip-log-bin --mysqlx=OFF
}
# On a copy of a replica: replication stays stopped (its settings are reset before anything is
# replayed), and GTIDs as in production (server.cnf), so the restored server starts with them.
mysql_copy_options() {
  printf '%s\n' --skip-log-bin --mysqlx=OFF --skip-replica-start --gtid-mode=ON --enforce-gtid-consistency=ON
}
mysql_reset_replica_sql() {
  printf '%s\n' 'RESET REPLICA ALL'
}
# MariaDB 10.11: the same through mariadb-install-db (root with an empty password, not unix_socket).
mariadb_scratch_init() {
  mariadb-install-db --no-defaults --datadir="$1" --auth-root-authentication-method=normal --skip-test-db "${RUN_AS[@]}"
}
mariadb_scratch_options() {
  :
}
mariadb_copy_options() {
  printf '%s\n' --skip-slave-start
}
mariadb_reset_replica_sql() {
  printf '%s\n' 'RESET SLAVE ALL'
}

# private_server_start DATADIR DIR USER PASSWORD [options...]: the server on DATADIR, its socket, pid,
# tmp and log in DIR; TARGET_* point at it as USER. Dies if it exits or does not answer in time.
private_server_start() {
  local data="$1" dir="$2" deadline extra=()
  TARGET_USER="$3"; TARGET_PASSWORD="$4"; shift 4
  read -r -a extra <<<"${SCRATCH_MYSQLD_OPTIONS:-}"
  mkdir -p "$dir/tmp"
  # --secure-file-priv: the compiled-in default directory may not exist, which MySQL refuses.
  "$MYSQLD" --no-defaults --datadir="$data" --tmpdir="$dir/tmp" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --skip-networking --max-allowed-packet=1G --secure-file-priv="$dir/tmp" \
    --innodb-flush-log-at-trx-commit=2 "$@" "${extra[@]}" "${RUN_AS[@]}" >"$dir/server.log" 2>&1 &
  PRIVATE_PID=$!
  # --host=localhost: the clients read MYSQL_HOST from the environment, which would win over the socket.
  TARGET_CONNECTION=(--protocol=SOCKET --host=localhost "--socket=$dir/mysqld.sock")
  deadline=$(( $(date +%s) + ${SCRATCH_START_SECONDS:-300} ))
  until target_sql -e 'SELECT 1' >/dev/null 2>&1; do
    kill -0 "$PRIVATE_PID" 2>/dev/null || { PRIVATE_PID=; die "the private server exited: $(tail -n 20 "$dir/server.log")"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "the private server did not accept connections within ${SCRATCH_START_SECONDS:-300}s"
    sleep 1
  done
}

# private_server_stop: TERM (a clean shutdown) and its exit status; 0 when none runs.
private_server_stop() {
  local status=0
  [ -n "$PRIVATE_PID" ] || return 0
  kill -TERM "$PRIVATE_PID" 2>/dev/null || true
  wait "$PRIVATE_PID" 2>/dev/null || status=$?
  PRIVATE_PID=
  return "$status"
}

# forget_replica DATADIR: removes from a copy of a replica what belongs to that replica and not to a
# primary: its server_uuid (auto.cnf: a new one is generated), its persisted settings
# (mysqld-auto.cnf: super_read_only), its relay logs, MariaDB's replication files, and the binary log
# files the copy may hold (XtraBackup copies the current one and an index naming it): the restored
# server starts a numbering of its own, its GTID state is in mysql.gtid_executed. The replication
# settings MySQL keeps in tables go with RESET REPLICA ALL once a server runs on it.
forget_replica() {
  local data="$1"
  rm -f "$data/auto.cnf" "$data/mysqld-auto.cnf" "$data"/mysql-relay-bin.* "$data/master.info" \
    "$data/relay-log.info" "$data/multi-master.info" "$data"/mysql-bin.[0-9]* "$data/mysql-bin.index"
}

# counts_sql: counts every table of MYSQL_DATABASE, a line `<table>\t<rows>` each (with
# group_concat_max_len raised first), as SQL on stdout; PREFIX is put before each row.
counts_sql() {
  local prefix="$1" db qualified
  db="$(sql_string "$MYSQL_DATABASE")"
  qualified="$(sql_string "$(sql_name "$MYSQL_DATABASE").")"
  cat <<SQL
SELECT IFNULL(GROUP_CONCAT(CONCAT('SELECT ${prefix}', QUOTE(table_name), ', COUNT(*) FROM ', $qualified, '\`', REPLACE(table_name, '\`', '\`\`'), '\`') SEPARATOR ' UNION ALL '), 'SELECT 1 FROM DUAL WHERE 0')
  INTO @counts FROM information_schema.tables WHERE table_schema = $db AND table_type = 'BASE TABLE';
PREPARE counts FROM @counts;
EXECUTE counts;
SQL
}

# --- what every full backup does after its copy (mysql-full-backup.sh, mysql-physical-backup.sh) ---

# record_counts WORK: every table's row count, in a consistent snapshot taken after the copy at a
# binlog position recorded beside it (FTWRL for an instant, as mysqldump itself does), into
# WORK/$COUNTS_FILE; sets COUNTS_BINLOG_FILE, COUNTS_BINLOG_POS, COUNTS_HEAD, COUNTS_TIME.
COUNTS_BINLOG_FILE=; COUNTS_BINLOG_POS=; COUNTS_HEAD=; COUNTS_TIME=
record_counts() {
  local work="$1"
  { printf '%s\n' 'SET SESSION group_concat_max_len = 67108864;' 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;' \
      'FLUSH TABLES WITH READ LOCK;' 'START TRANSACTION WITH CONSISTENT SNAPSHOT;' 'SHOW MASTER STATUS;' \
      "SELECT 'time', UNIX_TIMESTAMP();" 'UNLOCK TABLES;'
    counts_sql "''rows'', "
    printf '%s\n' 'COMMIT;'
  } | source_sql >"$work/counts.out" || { log "counting rows on $MYSQL_HOST failed"; return 1; }
  COUNTS_BINLOG_FILE=; COUNTS_BINLOG_POS=
  read -r COUNTS_BINLOG_FILE COUNTS_BINLOG_POS _ < <(head -n 1 "$work/counts.out") || true
  [[ ${COUNTS_BINLOG_POS:-} =~ ^[0-9]+$ ]] || { log "SHOW MASTER STATUS on $MYSQL_HOST returned no position (binary logging off?)"; return 1; }
  COUNTS_TIME="$(sed -n 's/^time\t//p' "$work/counts.out")"
  sed -n 's/^rows\t//p' "$work/counts.out" >"$work/$COUNTS_FILE"
  COUNTS_HEAD="$(binlog_head "$COUNTS_BINLOG_FILE")" || { log "could not read the head of $COUNTS_BINLOG_FILE on $MYSQL_HOST"; return 1; }
}

# promote_full WORK ID COUNTS_ID SET FILE POS HEAD [TAG...]: the counts, then the full, promoted with
# their tags (`time=` the counts' consistent time: the snapshot is certainly taken by then, so a target
# before it uses an older full); extra TAGs (format=physical) go on the full.
promote_full() {
  local work="$1" id="$2" counts_id="$3" set_id="$4" file="$5" pos="$6" head="$7"; shift 7
  restic_promote "$RESTIC_REPOSITORY" "$counts_id" counts "set=$set_id" "binlog-file=$COUNTS_BINLOG_FILE" "binlog-pos=$COUNTS_BINLOG_POS" \
    "binlog-head=$COUNTS_HEAD" "time=$COUNTS_TIME" || return 1
  restic_promote "$RESTIC_REPOSITORY" "$id" full "set=$set_id" "binlog-file=$file" "binlog-pos=$pos" \
    "binlog-head=$head" "time=$COUNTS_TIME" "$@" || return 1
  log "full backup $id promoted: $file:$pos, $(wc -l <"$work/$COUNTS_FILE") tables counted at $COUNTS_BINLOG_FILE:$COUNTS_BINLOG_POS, $(epoch_text "$COUNTS_TIME")"
}

# full_retention: fulls (of both formats) and counts older than KEEP_FULL_DAYS before the newest go;
# archived binary logs that end before the oldest kept full go too (KEEP_FULL_DAYS alone would drop
# those an old full still needs when backups have stopped), with an hour's margin for clock
# differences, and pending leftovers of killed archive jobs. The archive part is skipped when
# ARCHIVE_REPOSITORY is empty.
full_retention() {
  local oldest='' line expired=()
  restic_forget_older "$RESTIC_REPOSITORY" full "$KEEP_FULL_DAYS"
  restic_forget_older "$RESTIC_REPOSITORY" counts "$KEEP_FULL_DAYS"
  [ -n "${ARCHIVE_REPOSITORY:-}" ] || return 0
  while IFS= read -r line; do
    tag_value "$line" time
    if [ -n "$REPLY" ] && { [ -z "$oldest" ] || [ "$REPLY" -lt "$oldest" ]; }; then oldest="$REPLY"; fi
  done < <(restic_snapshots "$RESTIC_REPOSITORY" full)
  [ -n "$oldest" ] || return 0
  restic_prepare "$ARCHIVE_REPOSITORY"
  while IFS= read -r line; do
    tag_value "$line" end
    if [ -n "$REPLY" ] && [ "$REPLY" -lt $((oldest - 3600)) ]; then expired+=("$(snapshot_id "$line")"); fi
  done < <(restic_snapshots "$ARCHIVE_REPOSITORY" binlog)
  if [ "${#expired[@]}" -gt 0 ]; then
    log "forgetting ${#expired[@]} archived binary logs older than the oldest full ($(epoch_text "$oldest"))"
    restic_in "$ARCHIVE_REPOSITORY" forget "${expired[@]}" >&2
  fi
  restic_in "$ARCHIVE_REPOSITORY" forget --host "$BACKUP_HOST" --tag pending --group-by host --keep-within 1d >&2 || true
}

# A full backup's failure: the dump or copy ($id) and its row counts ($counts_id), where the script
# stored them already, are discarded, so that no snapshot is left that could pass for a good one.
fail() {
  [ -z "${id:-}" ] || restic_discard "$RESTIC_REPOSITORY" "$id"
  [ -z "${counts_id:-}" ] || restic_discard "$RESTIC_REPOSITORY" "$counts_id"
  die "$*"
}

# A restore's arguments, `[--target-time <RFC 3339 time> | latest] [--allow-gaps]`, into
# RESTORE_TARGET (default latest) and RESTORE_ALLOW_GAPS (1 or empty); anything else calls the
# script's `usage`.
# shellcheck disable=SC2034 # read by the scripts that call it
restore_arguments() {
  RESTORE_TARGET=latest
  RESTORE_ALLOW_GAPS=
  while [ $# -gt 0 ]; do
    case "$1" in
      --target-time) [ $# -ge 2 ] || usage; RESTORE_TARGET="$2"; shift 2 ;;
      --target-time=*) RESTORE_TARGET="${1#*=}"; shift ;;
      --allow-gaps) RESTORE_ALLOW_GAPS=1; shift ;;
      latest) RESTORE_TARGET=latest; shift ;;
      *) usage ;;
    esac
  done
}
