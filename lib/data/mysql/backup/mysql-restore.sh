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
restore_arguments "$@"
target="$RESTORE_TARGET"
allow_gaps="$RESTORE_ALLOW_GAPS"
parse_target "$target"

require MYSQL_HOST MYSQL_PWD MYSQL_DATABASE RESTIC_REPOSITORY ARCHIVE_REPOSITORY
open_repository "$RESTIC_REPOSITORY"
open_repository "$ARCHIVE_REPOSITORY"
detect_flavour
started=$(date +%s)

# Dumps only: a physical full (format=physical) is restored by mysql-physical-restore.sh.
plan_restore "$TARGET_EPOCH" "$allow_gaps" dump
full="$RESTORE_FULL"; full_id="$RESTORE_FULL_ID"; full_time="$RESTORE_FULL_TIME"; position="$RESTORE_POSITION"
use="$RESTORE_USE"; stop_options=("${RESTORE_STOP_OPTIONS[@]}")
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
