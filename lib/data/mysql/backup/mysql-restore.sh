#!/usr/bin/env bash
# Restores MYSQL_DATABASE on MYSQL_HOST (the primary: the replicas follow through replication) to a
# point in time, or to the latest archived event.
#
#   mysql-restore.sh [--target-time <RFC 3339, e.g. 2025-03-01T12:00:00Z> | latest] [--allow-gaps]
#
# Everything is checked before any data is touched: the target must not be before the oldest full
# backup, nor after the last archived event reachable from the full chosen (the latest full at or
# before the target), nor across a gap in that full's archive chain (binary logs purged before they
# were archived) unless --allow-gaps is given, which replays the files after the hole anyway (data
# written in the missing files is lost and later events may then fail or diverge). A refusal names
# the restorable range. The archived binary logs needed are read from the repository and decoded
# into TMPDIR first (a day's binary logs at most: fulls are daily).
#
# Then: DROP DATABASE, the full's dump streamed into the server, the binary logs replayed from the
# full's coordinates up to the target (mysqlbinlog --stop-datetime: every transaction whose events
# are stamped before the target second, in commit order; the server's clock, second resolution),
# only events of MYSQL_DATABASE (mysqlbinlog --database: row events by their table's database,
# statements such as DDL by the session's default database, which is why applications must
# connect with MYSQL_DATABASE as their default database). A single statement whose row events
# exceed 1 GiB (max_allowed_packet's maximum) cannot be replayed.
#
# Stop the application's writers first: writes during the restore are lost or conflict. If the
# load or replay fails midway, the database is incomplete: run the restore again.
#
# Environment: see mysql-backup-lib.sh (MYSQL_HOST, MYSQL_PORT, MYSQL_BACKUP_USER, MYSQL_PWD,
# MYSQL_DATABASE, RESTIC_REPOSITORY, ARCHIVE_REPOSITORY), restic.sh, TMPDIR.
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

usage() { die "usage: $0 [--target-time <RFC 3339 time, e.g. 2025-03-01T12:00:00Z> | latest] [--allow-gaps]"; }
target=latest
allow_gaps=
while [ $# -gt 0 ]; do
  case "$1" in
    --target-time) [ $# -ge 2 ] || usage; target="$2"; shift 2 ;;
    --target-time=*) target="${1#*=}"; shift ;;
    --allow-gaps) allow_gaps=1; shift ;;
    latest) target=latest; shift ;;
    *) usage ;;
  esac
done
target_epoch=
if [ "$target" != latest ]; then
  [[ $target =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$ ]] \
    || die "target time '$target' is not an RFC 3339 time with a zone (e.g. 2025-03-01T12:00:00Z)"
  target_epoch="$(date -u -d "$target" +%s)" || die "target time '$target' is not a valid time"
fi

require MYSQL_HOST MYSQL_PWD MYSQL_DATABASE RESTIC_REPOSITORY ARCHIVE_REPOSITORY
open_repository "$RESTIC_REPOSITORY"
open_repository "$ARCHIVE_REPOSITORY"
detect_flavour
started=$(date +%s)

fulls=()
mapfile -t fulls < <(restic_snapshots "$RESTIC_REPOSITORY" full)
[ -n "${fulls[0]:-}" ] || die "no full backup in $RESTIC_REPOSITORY: nothing to restore"
oldest_time=; full=; latest_full=; latest_time=
for line in "${fulls[@]}"; do
  tag_value "$line" time; t="$REPLY"
  if [ -z "$oldest_time" ] || [ "$t" -lt "$oldest_time" ]; then oldest_time="$t"; fi
  if [ -z "$latest_time" ] || [ "$t" -ge "$latest_time" ]; then latest_time="$t"; latest_full="$line"; fi
done
if [ -z "$target_epoch" ]; then
  full="$latest_full"
else
  best=
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
  die "refused: target $target is before the oldest full backup ($(epoch_text "$oldest_time")); restorable range: $(epoch_text "$oldest_time") to $(epoch_text "$REACH")"
fi
reach "$full"
full_id="$(snapshot_id "$full")"
tag_value "$full" time; full_time="$REPLY"
tag_value "$full" binlog-pos; position="$REPLY"
if [ -n "$target_epoch" ] && [ "$target_epoch" -gt "$REACH" ]; then
  # The latest full reaches furthest; name that range.
  reach "$latest_full"
  message="refused: target $target is after the last archived event reachable ($(epoch_text "$REACH")); restorable range: $(epoch_text "$oldest_time") to $(epoch_text "$REACH")"
  if [ -n "$GAP" ]; then message="$message; the archive after it has a gap ($GAP): --allow-gaps replays across it, losing what the missing files held"; fi
  die "$message"
fi
[ -z "$allow_gaps" ] || [ -z "$GAP" ] || log "WARNING: --allow-gaps: replaying across a gap in the archive ($GAP)"

# The files up to the first that ends at or after the target (mysqlbinlog stops at the first event
# stamped at or after it).
use="$COUNT"
stop_options=()
if [ -n "$target_epoch" ]; then
  use=0
  for entry in "${PLAN_FILES[@]:0:$COUNT}"; do
    use=$((use + 1))
    read -r _ _ _ _ end _ <<<"$entry"
    [ "$end" -lt "$target_epoch" ] || break
  done
  stop_options=(--stop-datetime="$(date -u -d "@$target_epoch" '+%Y-%m-%d %H:%M:%S')")
fi
log "restoring $MYSQL_DATABASE on $MYSQL_HOST to ${target}: full backup $full_id ($(epoch_text "$full_time")), then $use archived binary logs of chain ${PLAN_CHAIN:-(none)} from position $position"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch_binlogs "$work" "$use" >"$work/files.list"
files=()
mapfile -t files <"$work/files.list"

# Replayed row events arrive as one BINLOG statement per original statement, which can be far
# larger than the server's max_allowed_packet (64M in server.cnf): raised to the maximum (1G) for the
# restore's connections, set back on exit.
packet="$(target_sql -e 'SELECT @@GLOBAL.max_allowed_packet')" || die "cannot reach $MYSQL_HOST:$MYSQL_PORT"
target_sql -e 'SET GLOBAL max_allowed_packet = 1073741824' || die "could not raise max_allowed_packet on $MYSQL_HOST"
trap 'target_sql -e "SET GLOBAL max_allowed_packet = $packet" || log "could not set max_allowed_packet back to $packet"; rm -rf "$work"' EXIT

# From here on data changes.
target_sql -e "DROP DATABASE IF EXISTS $(sql_name "$MYSQL_DATABASE")" || die "could not drop $MYSQL_DATABASE on $MYSQL_HOST"
load_full "$full"
if [ "$use" -gt 0 ]; then replay_binlogs "$position" "${files[@]}" -- "${stop_options[@]}"; fi
log "restored $MYSQL_DATABASE to $target in $(( $(date +%s) - started ))s"
