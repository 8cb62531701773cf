#!/usr/bin/env bash
# Daily full backup of MYSQL_DATABASE from MYSQL_HOST (replica 0 when replicas exist, so the primary
# carries no dump load), into RESTIC_REPOSITORY.
#
#   1. mysqldump --single-transaction (a consistent InnoDB snapshot without blocking writers) with
#      the server's own binlog coordinates as a comment, streamed into restic: no temporary file.
#   2. Complete only if mysqldump and restic both exited 0, the snapshot as stored ends with
#      mysqldump's `-- Dump completed` trailer and its head carries the coordinates. Otherwise the
#      snapshot is forgotten and the job fails: restores only use promoted snapshots.
#   3. Row counts of every table, in a consistent snapshot of its own taken after the dump, at a
#      binlog position recorded beside them (FTWRL for an instant, as mysqldump itself does); the
#      restore test replays the archive from the dump's coordinates to that position and compares.
#   4. Promotion: the counts, then the dump, tagged `full`, `set=`, `binlog-file=`, `binlog-pos=`,
#      `binlog-head=` (identity of the file, which names the archive chain), `time=` (epoch of the
#      server's clock once the snapshot is certainly taken: a target before it uses an older full).
#   5. Retention: fulls and counts older than KEEP_FULL_DAYS before the newest go; archived binary
#      logs that end before the oldest kept full go too (KEEP_FULL_DAYS alone would drop those an
#      old full still needs when backups have stopped).
#
# Arguments: none. Environment: see mysql-backup-lib.sh (MYSQL_HOST, MYSQL_PORT, MYSQL_BACKUP_USER,
# MYSQL_PWD, MYSQL_DATABASE, RESTIC_REPOSITORY, ARCHIVE_REPOSITORY (retention of the archive; skipped
# when empty), KEEP_FULL_DAYS) and restic.sh.
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

require MYSQL_HOST MYSQL_PWD MYSQL_DATABASE RESTIC_REPOSITORY
restic_prepare "$RESTIC_REPOSITORY"
detect_flavour
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
set_id="$(date -u +%Y%m%dT%H%M%SZ)"
dump_options=()
mapfile -t dump_options < <("${FLAVOUR}_dump_options")

dump_database() {
  mysqldump --defaults-extra-file=<(client_options "$MYSQL_BACKUP_USER" "$MYSQL_PWD") \
    --protocol=TCP --host="$MYSQL_HOST" --port="$MYSQL_PORT" \
    --single-transaction --quick --routines --events --triggers --hex-blob --max-allowed-packet=1G \
    "${dump_options[@]}" --databases "$MYSQL_DATABASE"
}

id=
counts_id=

log "dumping $MYSQL_DATABASE from $MYSQL_HOST:$MYSQL_PORT ($FLAVOUR client tools)"
started=$(date +%s)
status=()
# errexit is off inside this list, so both exit statuses are read even when a stage failed.
{ dump_database | restic_backup_stdin "$RESTIC_REPOSITORY" "$DUMP_FILE" >"$work/id"; status=("${PIPESTATUS[@]}"); } || true
id="$(cat "$work/id")"
pipeline_ok "${status[@]}" || fail "full backup failed: mysqldump exited ${status[0]}, restic ${status[1]}; the incomplete snapshot ${id:-(none)} was discarded"
[ -n "$id" ] || fail "restic reported no snapshot"

snapshot_head_tail "$RESTIC_REPOSITORY" "$id" "$work" || fail "could not read snapshot $id back"
tail -n 1 "$work/tail" | grep -q '^-- Dump completed' || fail "snapshot $id does not end with mysqldump's '-- Dump completed' trailer: the dump is truncated"
coordinates="$(dump_coordinates "$work/head")" || fail "snapshot $id carries no binlog coordinates (is binary logging on at $MYSQL_HOST?)"
read -r binlog_file binlog_pos <<<"$coordinates"
binlog_identity="$(binlog_head "$binlog_file")" || fail "could not read the head of $binlog_file on $MYSQL_HOST"
report_throughput "full backup $id of $MYSQL_DATABASE" "$SNAPSHOT_FILE_SIZE" $(( $(date +%s) - started ))

# Row counts, consistent with a binlog position at least as late as the dump's.
record_counts "$work" || fail "counting rows on $MYSQL_HOST failed"
counts_id="$(restic_backup_stdin "$RESTIC_REPOSITORY" "$COUNTS_FILE" <"$work/$COUNTS_FILE")" || fail "could not store the row counts"
promote_full "$work" "$id" "$counts_id" "$set_id" "$binlog_file" "$binlog_pos" "$binlog_identity" || fail "could not promote the full backup $id"
id=; counts_id=

full_retention
