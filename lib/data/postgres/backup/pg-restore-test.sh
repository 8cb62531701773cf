#!/usr/bin/env bash
# Monthly restore test: proves the newest base backup plus the archived WAL restore to a known state.
#
#   1. a marker on the primary, consistent without stopping writes for long: session A takes SHARE
#      locks on every table of PGDATABASE (waits for in-flight writers, blocks new ones), exports its
#      snapshot and writes the restore point `restore-test-<time>` (pg_create_restore_point); session
#      B imports that snapshot; A commits, and writers go on (locks held for milliseconds, bounded by
#      RESTORE_TEST_LOCK_TIMEOUT_SECONDS). B counts every table in the snapshot, which is exactly the
#      state at the restore point: no table changed between the snapshot and the restore point.
#      The counts are kept in ARCHIVE_REPOSITORY (tag `restore-test`) beside the WAL;
#   2. pg_switch_wal(), then waits until the shipper has archived the restore point's segment;
#   3. extracts the newest base backup into SCRATCH_DIR, fetches its WAL, runs pg_verifybackup on it
#      (a volume base: pg_checksums once recovered),
#      recovers a scratch server (Unix socket in SCRATCH_DIR, no TCP) to the restore point
#      (recovery_target_name), counts the same tables and compares. Any difference, or any failure,
#      exits non-zero. The scratch server is stopped and SCRATCH_DIR emptied in every case.
#
# Usage: pg-restore-test.sh
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE   the PRIMARY, as a superuser (the construct's
#                                      app user: LOCK, pg_create_restore_point, pg_switch_wal) [required]
#   RESTIC_REPOSITORY, ARCHIVE_REPOSITORY, SCRATCH_DIR                                      [required]
#   RESTORE_TEST_WAIT_SECONDS          how long to wait for the shipper                       [900]
#   RESTORE_TEST_LOCK_TIMEOUT_SECONDS  how long the marker may wait for writers' locks        [10]
#   RECOVERY_TIMEOUT_SECONDS, RESTORE_SHARED_BUFFERS   as for pg-restore.sh
#   PATH                must hold psql, pg_ctl, postgres, pg_verifybackup, pg_waldump (the image's does)
set -euo pipefail
umask 077
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

require RESTIC_REPOSITORY ARCHIVE_REPOSITORY SCRATCH_DIR PGHOST PGUSER PGDATABASE
RESTORE_TEST_WAIT_SECONDS="${RESTORE_TEST_WAIT_SECONDS:-900}"
RESTORE_TEST_LOCK_TIMEOUT_SECONDS="${RESTORE_TEST_LOCK_TIMEOUT_SECONDS:-10}"
[[ "$RESTORE_TEST_WAIT_SECONDS" =~ ^[0-9]+$ ]] || die "RESTORE_TEST_WAIT_SECONDS '$RESTORE_TEST_WAIT_SECONDS' must be a number of seconds"
[[ "$RESTORE_TEST_LOCK_TIMEOUT_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "RESTORE_TEST_LOCK_TIMEOUT_SECONDS '$RESTORE_TEST_LOCK_TIMEOUT_SECONDS' must be a positive number"
[ $# -eq 0 ] || die "usage: pg-restore-test.sh (no arguments)"
[ -d "$SCRATCH_DIR" ] || die "SCRATCH_DIR $SCRATCH_DIR does not exist"

work="$SCRATCH_DIR/pg-restore-test"
rm -rf "${work:?}"
mkdir -p "$work/marker" "$work/sock"
session_a=''
cleanup() {
  local status=$?
  [ -z "$session_a" ] || kill "$session_a" 2>/dev/null || true
  if [ -f "$work/data/postmaster.pid" ]; then pg_ctl -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "${work:?}"
  exit "$status"
}
trap cleanup EXIT

primary() { psql -X -q -At -F "$(printf '\t')" -v ON_ERROR_STOP=1 --no-password "$@"; }

restic_prepare "$RESTIC_REPOSITORY"
restic_prepare "$ARCHIVE_REPOSITORY"

# 1. The marker.
tables="$(primary -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")" \
  || die "cannot list the tables of $PGDATABASE on $PGHOST"
[ -n "$tables" ] || die "$PGDATABASE on $PGHOST has no tables: nothing to compare"
table_list="$(paste -s -d, <<<"$tables")"
name="restore-test-$(date -u +%Y%m%dT%H%M%SZ)"
m="$work/marker"
mkfifo "$m/a.sql"
primary <"$m/a.sql" >"$m/a.out" 2>"$m/a.err" &
session_a=$!
exec 3>"$m/a.sql"
cat >&3 <<SQL
SET lock_timeout = '${RESTORE_TEST_LOCK_TIMEOUT_SECONDS}s';
BEGIN ISOLATION LEVEL REPEATABLE READ;
LOCK TABLE $table_list IN SHARE MODE;
SELECT pg_export_snapshot() AS snapshot, pg_create_restore_point('$name') AS lsn \gset
\o $m/snapshot.tmp
\qecho :snapshot :lsn
\o
\! mv $m/snapshot.tmp $m/snapshot
SQL
waited=0
until [ -s "$m/snapshot" ]; do
  kill -0 "$session_a" 2>/dev/null || die "taking the marker failed: $(cat "$m/a.err")"
  [ "$waited" -lt $(( RESTORE_TEST_LOCK_TIMEOUT_SECONDS * 10 + 100 )) ] || die "the marker session did not answer"
  sleep 0.1; waited=$(( waited + 1 ))
done
read -r snapshot lsn <"$m/snapshot"
{
  printf "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSET TRANSACTION SNAPSHOT '%s';\n\\\\! touch %s/imported\n" "$snapshot" "$m"
  while read -r table; do printf "SELECT '%s', count(*) FROM %s;\n" "${table//\'/\'\'}" "$table"; done <<<"$tables"
  printf 'COMMIT;\n'
} >"$m/b.sql"
primary -f "$m/b.sql" >"$m/counts" 2>"$m/b.err" &
session_b=$!
until [ -e "$m/imported" ]; do
  kill -0 "$session_b" 2>/dev/null || break
  sleep 0.05
done
# The snapshot is imported (or B failed): the locks can go.
printf 'COMMIT;\n' >&3
exec 3>&-
wait "$session_a" || die "the marker session failed: $(cat "$m/a.err")"
session_a=''
wait "$session_b" || die "counting in the marker's snapshot failed: $(cat "$m/b.err")"
[ -e "$m/imported" ] || die "the counting session never imported the marker's snapshot"
log "marker $name at $lsn: $(wc -l <"$m/counts") table(s) counted"

# 2. Archive it.
primary -c 'SELECT pg_switch_wal()' >/dev/null || die "pg_switch_wal on $PGHOST failed"
id="$(restic_backup_stdin "$ARCHIVE_REPOSITORY" counts.tsv <"$m/counts")" || die "storing the marker's counts failed"
restic_promote "$ARCHIVE_REPOSITORY" "$id" restore-test "name=$name" "lsn=$lsn" || die "promoting the marker's counts failed"
marker_segment="$(lsn_segment "$lsn")"
deadline=$(( $(date +%s) + RESTORE_TEST_WAIT_SECONDS ))
until wal_batches | awk -v s="$marker_segment" '$1 <= s && $2 >= s { found = 1 } END { exit !found }'; do
  [ "$(date +%s)" -lt "$deadline" ] || die "the restore point's WAL ($lsn) was not archived within ${RESTORE_TEST_WAIT_SECONDS}s: is the WAL shipper (pg-wal-ship.sh) running?"
  sleep 5
done

# 3. Restore and compare.
plan_restore lsn "$lsn" 0
started=$(now_us)
extract_base "$work/data"
fetch_wal "$work/wal"
bytes="$(du -sb "$work/data" "$work/wal" | awk '{ s += $1 } END { printf "%d", s }')"
verify_base_files "$work/data" "$work/wal"
start_recovery "$work/data" "$work/wal" "recovery_target_name = '$name'" "$work/sock"
grep -q "recovery stopping at restore point \"$name\"" "$work/sock/server.log" || die "recovery did not stop at restore point $name"
log_throughput "restore test (download, verify, replay)" "$bytes" $(( $(now_us) - started ))
psql -X -q -At -F "$(printf '\t')" -v ON_ERROR_STOP=1 -h "$work/sock" -p 5432 -d "$PGDATABASE" -f <(grep -v '^\\!' "$m/b.sql" | grep -v 'SET TRANSACTION SNAPSHOT') >"$m/restored" 2>"$m/restored.err" \
  || die "counting in the restored copy failed: $(cat "$m/restored.err")"
finish_recovery "$work/data"
[ "$PLAN_BASE_FORMAT" = stream ] || check_page_checksums "$work/data"
if ! diff -u "$m/counts" "$m/restored" >"$m/diff"; then
  sed 's/^/  /' "$m/diff" >&2
  die "restore test FAILED: the restored row counts differ from those recorded at $name (above: - recorded, + restored)"
fi
log "restore test passed: base backup $PLAN_BASE_ID ($PLAN_BASE_TIME) + WAL to restore point $name, $(wc -l <"$m/counts") table(s), counts equal"
