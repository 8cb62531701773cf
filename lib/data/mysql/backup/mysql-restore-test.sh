#!/usr/bin/env bash
# Monthly restore test: the latest full backup, plus the archived binary logs from its coordinates
# to the position its row counts were taken at, restored into a scratch server this script starts
# in SCRATCH_DIR (unix socket only, no network), then every table's row count compared with the
# counts recorded at backup time. Any difference, a missing or extra table, or any failure on the
# way exits non-zero. The scratch server is stopped and its files removed on every exit path.
#
# This proves the whole path a real restore takes: the dump loads, the archive chain from the full
# is complete and its files replay (the same functions as mysql-restore.sh).
#
# A physical full (format=physical) is tested the way mysql-physical-restore.sh restores it: a first
# run with --extract, in the XtraBackup image (the Job's init step), unpacks and prepares it into
# SCRATCH_DIR; this run, in the mysql image, starts the scratch server on those files (after
# removing what belonged to replica 0) and replays every database's events to the counts' position.
#
# Arguments: [--extract]. Environment: see mysql-backup-lib.sh (MYSQL_DATABASE, RESTIC_REPOSITORY,
# ARCHIVE_REPOSITORY; the production server is not contacted) and restic.sh, and:
#   SCRATCH_DIR              empty writable directory for the scratch server's data [required]
#   MYSQLD                   the server binary [mysqld]
#   SCRATCH_MYSQLD_OPTIONS   extra server options, space-separated (e.g. --innodb-buffer-pool-size=4G) []
#   SCRATCH_START_SECONDS    how long the scratch server may take to accept connections [300]
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

extract=
case "${1:-}" in
  --extract) extract=1 ;;
  '') ;;
  *) die "usage: $0 [--extract]" ;;
esac
require MYSQL_DATABASE RESTIC_REPOSITORY ARCHIVE_REPOSITORY SCRATCH_DIR
open_repository "$RESTIC_REPOSITORY"
open_repository "$ARCHIVE_REPOSITORY"
detect_flavour
started=$(date +%s)

# --- the backup to test ---------------------------------------------------------------------
full="$(restic_snapshots "$RESTIC_REPOSITORY" full | tail -n 1)"
[ -n "$full" ] || die "no full backup in $RESTIC_REPOSITORY"
full_id="$(snapshot_id "$full")"
tag_value "$full" set; set_id="$REPLY"
tag_value "$full" binlog-file; full_file="$REPLY"
tag_value "$full" binlog-pos; full_pos="$REPLY"
format="$(full_format "$full")"
# The physical copy, unpacked and prepared by the --extract run.
physical="$SCRATCH_DIR/mysql-restore-test-physical"
if [ -n "$extract" ]; then
  if [ "$format" != physical ]; then log "the latest full backup $full_id is a dump: nothing to extract"; exit 0; fi
  rm -rf "$physical"
  extract_prepare "$full_id" "$physical/data"
  printf '%s\n' "$full_id" >"$physical/prepared"
  log "physical full backup $full_id extracted and prepared for the restore test"
  exit 0
fi
counts=
while IFS= read -r line; do
  tag_value "$line" set
  if [ "$REPLY" = "$set_id" ]; then counts="$line"; fi
done < <(restic_snapshots "$RESTIC_REPOSITORY" counts)
[ -n "$counts" ] || die "the latest full backup $full_id (set $set_id) has no row counts"
counts_id="$(snapshot_id "$counts")"
tag_value "$counts" binlog-file; counts_file="$REPLY"
tag_value "$counts" binlog-pos; counts_pos="$REPLY"
tag_value "$counts" binlog-head; counts_head="$REPLY"

# The archived files from the full's to the counts' file, in one chain without a gap.
plan_chain "$full"
[ -n "$PLAN_CHAIN" ] || die "the binary log $full_file of full backup $full_id is not archived (yet): cannot replay to the counts' position"
contiguous_files "$(binlog_sequence "$full_file")"
use=0
for entry in "${PLAN_FILES[@]:0:$PLAN_COUNT}"; do
  use=$((use + 1))
  read -r _ _ name _ _ head <<<"$entry"
  if [ "$name" = "$counts_file" ]; then
    [ "$head" = "$counts_head" ] || die "the archived $counts_file is not the file the counts were taken in (another lineage)"
    break
  fi
  [ "$use" -lt "$PLAN_COUNT" ] || die "the counts' position $counts_file:$counts_pos is not in the archive of chain $PLAN_CHAIN after $full_file${PLAN_GAP:+ ($PLAN_GAP)}"
done
[ "$use" -gt 0 ] || die "the archive of chain $PLAN_CHAIN holds nothing from $full_file on${PLAN_GAP:+ ($PLAN_GAP)}"
log "restore test of full backup $full_id with $use archived binary logs up to $counts_file:$counts_pos (counts $counts_id)"

# --- the scratch server ------------------------------------------------------------------------
scratch="$SCRATCH_DIR/mysql-restore-test"
cleanup() {
  private_server_stop || true
  rm -rf "$scratch" "$physical"
}
trap cleanup EXIT
rm -rf "$scratch"
mkdir -p "$scratch/data" "$scratch/binlogs"
server_flavour
fetch_binlogs "$scratch/binlogs" "$use" >"$scratch/files.list"
files=()
mapfile -t files <"$scratch/files.list"
options=()
if [ "$format" = physical ]; then
  [ "$(cat "$physical/prepared" 2>/dev/null)" = "$full_id" ] \
    || die "the physical full backup $full_id was not extracted and prepared (the --extract step runs first, in the XtraBackup image)"
  forget_replica "$physical/data"
  mapfile -t options < <("${SERVER_FLAVOUR}_copy_options")
  # The copy's root account, with the production password.
  private_server_start "$physical/data" "$scratch" "$MYSQL_BACKUP_USER" "${MYSQL_PWD:-}" "${options[@]}"
  "${SERVER_FLAVOUR}_reset_replica_sql" | target_sql || die "resetting the copy's replication settings failed"
  # A copy of the whole server: every database's events are replayed, as the restore does.
  REPLAY_DATABASE=
else
  "${SERVER_FLAVOUR}_scratch_init" "$scratch/data" >"$scratch/init.log" 2>&1 || die "initialising the scratch server failed: $(tail -n 20 "$scratch/init.log")"
  mapfile -t options < <("${SERVER_FLAVOUR}_scratch_options")
  private_server_start "$scratch/data" "$scratch" root "" "${options[@]}"
  load_full "$full"
fi

# --- replay and compare ----------------------------------------------------------------------
replay_binlogs "$full_pos" "${files[@]}" -- --stop-position="$counts_pos"

restic_in "$RESTIC_REPOSITORY" dump --no-lock "$counts_id" "$COUNTS_FILE" >"$scratch/expected.tsv" || die "could not read the counts $counts_id"
{ printf '%s\n' 'SET SESSION group_concat_max_len = 67108864;'; counts_sql ''; } | target_sql >"$scratch/actual.tsv" || die "counting the restored rows failed"
sort "$scratch/expected.tsv" >"$scratch/expected.sorted"
sort "$scratch/actual.tsv" >"$scratch/actual.sorted"
# comm, not diff: the image has coreutils but not diffutils.
comm -3 "$scratch/expected.sorted" "$scratch/actual.sorted" >"$scratch/diff"
if [ -s "$scratch/diff" ]; then
  log "row counts differ (first column: recorded at backup time, second: restored):"
  cat "$scratch/diff" >&2
  die "restore test of full backup $full_id FAILED: the restored row counts differ from those recorded"
fi
log "restore test of full backup $full_id passed: $(wc -l <"$scratch/expected.sorted") tables, every row count as recorded ($format); $(( $(date +%s) - started ))s in all"
