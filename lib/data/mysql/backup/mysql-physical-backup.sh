#!/usr/bin/env bash
# Daily physical full backup (fullBackupSource `volume`): the data files of MYSQL_HOST (replica 0)
# copied from its volume, mounted read-only at MYSQL_DATA_DIR on its node, into RESTIC_REPOSITORY.
# Runs in the Percona XtraBackup image (MySQL; mariadb-backup in the tests), whose client tools do
# the SQL steps.
#
#   1. xtrabackup --backup --stream=xbstream (MariaDB: mariadb-backup) streamed into restic, no
#      temporary copy. The tool copies the files while the server runs, takes its backup lock for the
#      final instant and prints the server's own binlog coordinates at the copy's consistent point:
#      replica 0's binary log, the one mysql-binlog-archive.sh archives, so point-in-time restores
#      replay from them exactly as after a dump.
#   2. Complete only if every stage of the pipe exited 0 and the tool's log ends with
#      `completed OK!` and carries the coordinates. Otherwise the snapshot is forgotten and the job
#      fails: restores only use promoted snapshots.
#   3. Row counts, promotion and retention as mysql-full-backup.sh (mysql-backup-lib.sh), the full
#      tagged `format=physical` besides `full`, `set=`, `binlog-file=`, `binlog-pos=`,
#      `binlog-head=`, `time=`.
#
# Arguments: none. Environment: see mysql-backup-lib.sh (MYSQL_HOST, MYSQL_PORT, MYSQL_BACKUP_USER,
# MYSQL_PWD, MYSQL_DATABASE, RESTIC_REPOSITORY, ARCHIVE_REPOSITORY, KEEP_FULL_DAYS) and restic.sh, and
# MYSQL_DATA_DIR, the server's data directory as mounted here (the same path as in its pod).
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

require MYSQL_HOST MYSQL_PWD MYSQL_DATABASE RESTIC_REPOSITORY MYSQL_DATA_DIR
[ -d "$MYSQL_DATA_DIR" ] || die "the data directory $MYSQL_DATA_DIR is not mounted"
restic_prepare "$RESTIC_REPOSITORY"
detect_flavour
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
set_id="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir "$work/tool"

id=
counts_id=

log "copying the data files of $MYSQL_HOST:$MYSQL_PORT from $MYSQL_DATA_DIR ($FLAVOUR tools)"
started=$(now_us)
status=()
# errexit is off inside this list, so every exit status is read even when a stage failed.
{ "${FLAVOUR}_physical_backup" "$work/tool" 2>"$work/tool.log" \
    | restic_backup_stdin "$RESTIC_REPOSITORY" "$PHYSICAL_FILE" >"$work/id"; status=("${PIPESTATUS[@]}"); } || true
id="$(cat "$work/id")"
pipeline_ok "${status[@]}" || fail "physical full backup failed: the copy exited ${status[0]}, restic ${status[1]}; the incomplete snapshot ${id:-(none)} was discarded: $(tail -n 20 "$work/tool.log")"
[ -n "$id" ] || fail "restic reported no snapshot"
tool_completed "$work/tool.log" || fail "the copy's log does not end with 'completed OK!': the backup is incomplete; $(tail -n 20 "$work/tool.log")"
coordinates="$(tool_coordinates "$work/tool.log")" || fail "the copy printed no binlog coordinates (is binary logging on at $MYSQL_HOST?)"
read -r binlog_file binlog_pos <<<"$coordinates"
binlog_identity="$(binlog_head "$binlog_file")" || fail "could not read the head of $binlog_file on $MYSQL_HOST"
snapshot_file_blobs "$RESTIC_REPOSITORY" "$id" /dev/null || fail "could not read snapshot $id back"
log_throughput "physical full backup $id of $MYSQL_HOST" "$SNAPSHOT_FILE_SIZE" $(( $(now_us) - started ))

# Row counts, consistent with a binlog position at least as late as the copy's.
record_counts "$work" || fail "counting rows on $MYSQL_HOST failed"
counts_id="$(restic_backup_stdin "$RESTIC_REPOSITORY" "$COUNTS_FILE" <"$work/$COUNTS_FILE")" || fail "could not store the row counts"
promote_full "$work" "$id" "$counts_id" "$set_id" "$binlog_file" "$binlog_pos" "$binlog_identity" format=physical \
  || fail "could not promote the full backup $id"
id=; counts_id=

full_retention
