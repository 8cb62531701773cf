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
# Arguments: none. Environment: see mysql-backup-lib.sh (MYSQL_DATABASE, RESTIC_REPOSITORY,
# ARCHIVE_REPOSITORY; the production server is not contacted) and restic.sh, and:
#   SCRATCH_DIR              empty writable directory for the scratch server's data [required]
#   MYSQLD                   the server binary [mysqld]
#   SCRATCH_MYSQLD_OPTIONS   extra server options, space-separated (e.g. --innodb-buffer-pool-size=4G) []
#   SCRATCH_START_SECONDS    how long the scratch server may take to accept connections [300]
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

require MYSQL_DATABASE RESTIC_REPOSITORY ARCHIVE_REPOSITORY SCRATCH_DIR
MYSQLD="${MYSQLD:-mysqld}"
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
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
rm -rf "$scratch"
mkdir -p "$scratch/data" "$scratch/tmp" "$scratch/binlogs"
run_as=()
# mysqld refuses to run as root unless told to (the pods run as the mysql user; tests as root).
if [ "$(id -u)" -eq 0 ]; then run_as=(--user=root); fi

# MySQL 8.0: an empty data directory with a password-less root; no binary log, no X protocol.
mysql_scratch_init() {
  "$MYSQLD" --no-defaults --initialize-insecure --datadir="$scratch/data" "${run_as[@]}" >"$scratch/init.log" 2>&1
}
mysql_scratch_options() {
  printf '%s\n' --skip-log-bin --mysqlx=OFF
}
# MariaDB 10.11: the same through mariadb-install-db (root with an empty password, not unix_socket).
mariadb_scratch_init() {
  mariadb-install-db --no-defaults --datadir="$scratch/data" --auth-root-authentication-method=normal \
    --skip-test-db "${run_as[@]}" >"$scratch/init.log" 2>&1
}
mariadb_scratch_options() {
  :
}

case "$("$MYSQLD" --version)" in
  *MariaDB*) server_flavour=mariadb ;;
  *) server_flavour=mysql ;;
esac
"${server_flavour}_scratch_init" || die "initialising the scratch server failed: $(tail -n 20 "$scratch/init.log")"
options=()
mapfile -t options < <("${server_flavour}_scratch_options")
read -r -a extra <<<"${SCRATCH_MYSQLD_OPTIONS:-}"
# --no-defaults: none of the image's configuration (its /etc/my.cnf names directories of the image);
# --secure-file-priv: the compiled-in default directory may not exist, which MySQL refuses.
"$MYSQLD" --no-defaults --datadir="$scratch/data" --tmpdir="$scratch/tmp" --socket="$scratch/mysqld.sock" \
  --pid-file="$scratch/mysqld.pid" --skip-networking --max-allowed-packet=1G --secure-file-priv="$scratch/tmp" \
  --innodb-flush-log-at-trx-commit=2 "${options[@]}" "${extra[@]}" "${run_as[@]}" >"$scratch/server.log" 2>&1 &
server_pid=$!
TARGET_USER=root
TARGET_PASSWORD=
# --host=localhost: the clients read MYSQL_HOST from the environment, which would win over the socket.
TARGET_CONNECTION=(--protocol=SOCKET --host=localhost "--socket=$scratch/mysqld.sock")
deadline=$(( $(date +%s) + ${SCRATCH_START_SECONDS:-300} ))
until target_sql -e 'SELECT 1' >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || die "the scratch server exited: $(tail -n 20 "$scratch/server.log")"
  [ "$(date +%s)" -lt "$deadline" ] || die "the scratch server did not accept connections within ${SCRATCH_START_SECONDS:-300}s"
  sleep 1
done

# --- restore and compare ---------------------------------------------------------------------
fetch_binlogs "$scratch/binlogs" "$use" >"$scratch/files.list"
files=()
mapfile -t files <"$scratch/files.list"
load_full "$full"
replay_binlogs "$full_pos" "${files[@]}" -- --stop-position="$counts_pos"

restic_in "$RESTIC_REPOSITORY" dump --no-lock "$counts_id" "$COUNTS_FILE" >"$scratch/expected.tsv" || die "could not read the counts $counts_id"
db="$(sql_string "$MYSQL_DATABASE")"
qualified="$(sql_string "$(sql_name "$MYSQL_DATABASE").")"
target_sql >"$scratch/actual.tsv" <<SQL || die "counting the restored rows failed"
SET SESSION group_concat_max_len = 67108864;
SELECT IFNULL(GROUP_CONCAT(CONCAT('SELECT ', QUOTE(table_name), ', COUNT(*) FROM ', $qualified, '\`', REPLACE(table_name, '\`', '\`\`'), '\`') SEPARATOR ' UNION ALL '), 'SELECT 1 FROM DUAL WHERE 0')
  INTO @counts FROM information_schema.tables WHERE table_schema = $db AND table_type = 'BASE TABLE';
PREPARE counts FROM @counts;
EXECUTE counts;
SQL
sort "$scratch/expected.tsv" >"$scratch/expected.sorted"
sort "$scratch/actual.tsv" >"$scratch/actual.sorted"
# comm, not diff: the image has coreutils but not diffutils.
comm -3 "$scratch/expected.sorted" "$scratch/actual.sorted" >"$scratch/diff"
if [ -s "$scratch/diff" ]; then
  log "row counts differ (first column: recorded at backup time, second: restored):"
  cat "$scratch/diff" >&2
  die "restore test of full backup $full_id FAILED: the restored row counts differ from those recorded"
fi
log "restore test of full backup $full_id passed: $(wc -l <"$scratch/expected.sorted") tables, every row count as recorded; $(( $(date +%s) - started ))s in all"
