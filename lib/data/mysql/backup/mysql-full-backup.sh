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
# A failed backup leaves no snapshot behind that could pass for a good one.
fail() {
  [ -z "$id" ] || restic_discard "$RESTIC_REPOSITORY" "$id"
  [ -z "$counts_id" ] || restic_discard "$RESTIC_REPOSITORY" "$counts_id"
  die "$*"
}

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
db="$(sql_string "$MYSQL_DATABASE")"
qualified="$(sql_string "$(sql_name "$MYSQL_DATABASE").")"
source_sql >"$work/counts.out" <<SQL || fail "counting rows on $MYSQL_HOST failed"
SET SESSION group_concat_max_len = 67108864;
SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;
FLUSH TABLES WITH READ LOCK;
START TRANSACTION WITH CONSISTENT SNAPSHOT;
SHOW MASTER STATUS;
SELECT 'time', UNIX_TIMESTAMP();
UNLOCK TABLES;
SELECT IFNULL(GROUP_CONCAT(CONCAT('SELECT ''rows'', ', QUOTE(table_name), ', COUNT(*) FROM ', $qualified, '\`', REPLACE(table_name, '\`', '\`\`'), '\`') SEPARATOR ' UNION ALL '), 'SELECT 1 FROM DUAL WHERE 0')
  INTO @counts FROM information_schema.tables WHERE table_schema = $db AND table_type = 'BASE TABLE';
PREPARE counts FROM @counts;
EXECUTE counts;
COMMIT;
SQL
counts_file=; counts_pos=
read -r counts_file counts_pos _ < <(head -n 1 "$work/counts.out") || true
[[ ${counts_pos:-} =~ ^[0-9]+$ ]] || fail "SHOW MASTER STATUS on $MYSQL_HOST returned no position (binary logging off?)"
consistent_time="$(sed -n 's/^time\t//p' "$work/counts.out")"
sed -n 's/^rows\t//p' "$work/counts.out" >"$work/$COUNTS_FILE"
counts_identity="$(binlog_head "$counts_file")" || fail "could not read the head of $counts_file on $MYSQL_HOST"

counts_id="$(restic_backup_stdin "$RESTIC_REPOSITORY" "$COUNTS_FILE" <"$work/$COUNTS_FILE")" || fail "could not store the row counts"
restic_promote "$RESTIC_REPOSITORY" "$counts_id" counts "set=$set_id" "binlog-file=$counts_file" "binlog-pos=$counts_pos" \
  "binlog-head=$counts_identity" "time=$consistent_time" || fail "could not promote the counts $counts_id"
restic_promote "$RESTIC_REPOSITORY" "$id" full "set=$set_id" "binlog-file=$binlog_file" "binlog-pos=$binlog_pos" \
  "binlog-head=$binlog_identity" "time=$consistent_time" || fail "could not promote the full backup $id"
log "full backup $id promoted: $binlog_file:$binlog_pos, $(wc -l <"$work/$COUNTS_FILE") tables counted at $counts_file:$counts_pos, $(epoch_text "$consistent_time")"
id=; counts_id=

restic_forget_older "$RESTIC_REPOSITORY" full "$KEEP_FULL_DAYS"
restic_forget_older "$RESTIC_REPOSITORY" counts "$KEEP_FULL_DAYS"

# Archive retention: what no kept full needs (files that end before the oldest full's snapshot,
# with an hour's margin for clock differences), and pending leftovers of killed archive jobs.
if [ -n "${ARCHIVE_REPOSITORY:-}" ]; then
  oldest=
  while IFS= read -r line; do
    tag_value "$line" time
    if [ -n "$REPLY" ] && { [ -z "$oldest" ] || [ "$REPLY" -lt "$oldest" ]; }; then oldest="$REPLY"; fi
  done < <(restic_snapshots "$RESTIC_REPOSITORY" full)
  if [ -n "$oldest" ]; then
    restic_prepare "$ARCHIVE_REPOSITORY"
    expired=()
    while IFS= read -r line; do
      tag_value "$line" end
      if [ -n "$REPLY" ] && [ "$REPLY" -lt $((oldest - 3600)) ]; then expired+=("$(snapshot_id "$line")"); fi
    done < <(restic_snapshots "$ARCHIVE_REPOSITORY" binlog)
    if [ "${#expired[@]}" -gt 0 ]; then
      log "forgetting ${#expired[@]} archived binary logs older than the oldest full ($(epoch_text "$oldest"))"
      restic_in "$ARCHIVE_REPOSITORY" forget "${expired[@]}" >&2
    fi
    restic_in "$ARCHIVE_REPOSITORY" forget --host "$BACKUP_HOST" --tag pending --group-by host --keep-within 1d >&2 || true
  fi
fi
