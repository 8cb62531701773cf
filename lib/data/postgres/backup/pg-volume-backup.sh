#!/usr/bin/env bash
# Base backup from the data volume (the store's `fullBackupSource: volume`): the files of PGDATA,
# read by a job on the standby's node with the standby's volume mounted read-only, between
# pg_backup_start and pg_backup_stop (PostgreSQL's non-exclusive backup API, which a standby serves),
# into restic in its file mode. Restores then write files in parallel (`restic restore`) instead of
# unpacking one tar stream, and a daily run uploads only the files that changed since the last.
#
#   1. pg_backup_start in a session that stays open for the whole copy (the backup ends, aborted,
#      if the session does: a killed job leaves nothing behind on the server);
#   2. `restic backup .` of PGDATA without what a restore must not get back or recreates itself
#      (pg_wal, postmaster.pid, standby.signal, temporary and statistics files, replication slots:
#      the same list pg_basebackup leaves out), and without global/pg_control;
#   3. global/pg_control copied after every other file (on a standby its minimum recovery point tells
#      recovery where the copy becomes consistent), then pg_backup_stop: the backup_label it returns
#      and that pg_control go into a second snapshot (`base-meta`, one tar);
#   4. both promoted only when every step succeeded: the meta tagged `base-meta set=<run>`, the files
#      `base format=volume set=<run> tli= start-wal= end-wal= start-lsn= end-lsn= time=<end>`, the tags
#      as pg-base-backup.sh's bases, so restores, verify and retention treat both alike;
#   5. retention: bases (and their meta) older than KEEP_FULL_DAYS, and the WAL batches only they need.
#
# Usage: pg-volume-backup.sh
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE   a superuser session on the server whose volume
#                                     is mounted (the standby where there is one)          [required]
#   PGDATA                            that server's data directory, as mounted here        [required]
#   RESTIC_REPOSITORY, ARCHIVE_REPOSITORY                                                  [required]
#   KEEP_FULL_DAYS                    retention of bases and of the WAL they need           [30]
#   BACKUP_START_TIMEOUT_SECONDS      how long pg_backup_start may wait for its checkpoint  [1800]
set -euo pipefail
umask 077
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

require RESTIC_REPOSITORY ARCHIVE_REPOSITORY PGHOST PGUSER PGDATA
KEEP_FULL_DAYS="${KEEP_FULL_DAYS:-30}"
[[ "$KEEP_FULL_DAYS" =~ ^[1-9][0-9]*$ ]] || die "KEEP_FULL_DAYS '$KEEP_FULL_DAYS' must be a positive number of days"
[ $# -eq 0 ] || die "usage: pg-volume-backup.sh (no arguments)"
[ -f "$PGDATA/PG_VERSION" ] || die "$PGDATA holds no PostgreSQL data directory: is the server's volume mounted there?"

restic_prepare "$RESTIC_REPOSITORY"
restic_prepare "$ARCHIVE_REPOSITORY"

work="$(mktemp -d "${TMPDIR:-/tmp}/pg-volume-backup.XXXXXX")"
id=''
meta_id=''
session_pid=''
cleanup() {
  [ -z "$session_pid" ] || kill "$session_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A failed run leaves no snapshot that could pass for a base (the session's end aborts the backup).
fail() {
  [ -z "$id" ] || restic_discard "$RESTIC_REPOSITORY" "$id"
  [ -z "$meta_id" ] || restic_discard "$RESTIC_REPOSITORY" "$meta_id"
  die "volume base backup failed, nothing promoted: $*"
}

# The session: psql reading statements from a FIFO, its output (one line per statement, flushed by
# psql after each) in a file that `answer` waits on.
mkfifo "$work/session.in"
psql -X -At -v ON_ERROR_STOP=1 --no-password <"$work/session.in" >"$work/session.out" 2>"$work/session.err" &
session_pid=$!
exec 3>"$work/session.in"

# Sends statement $2, whose output line starts with `$1|`, and prints the rest of that line.
answer() {
  local key="$1" statement="$2" deadline=$(( $(date +%s) + ${3:-60} )) line
  printf '%s\n' "$statement" >&3
  while :; do
    line="$(grep -m 1 "^$key|" "$work/session.out" || true)"
    if [ -n "$line" ]; then printf '%s\n' "${line#"$key|"}"; return 0; fi
    kill -0 "$session_pid" 2>/dev/null || fail "the database session ended: $(tr '\n' ' ' <"$work/session.err")"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no answer to '$statement' within ${3:-60}s"
    sleep 0.2
  done
}

version="$(answer version 'SELECT '\''version'\'', current_setting('\''server_version_num'\'');')"
[[ "$version" =~ ^[0-9]+$ ]] || fail "could not read server_version_num (got '$version')"
in_recovery="$(answer role 'SELECT '\''role'\'', pg_is_in_recovery();')"
label="pg-volume-backup $(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Names the pair (restic's tag command gives a snapshot a new id, so the two cannot name each other).
set_id="$(date -u +%Y%m%dT%H%M%SZ)-$$"
started=$(now_us)
log "volume base backup of $PGDATA ($PGHOST:${PGPORT:-5432}, $([ "$in_recovery" = t ] && echo standby || echo primary), server $version) into $RESTIC_REPOSITORY"
start_lsn="$(answer started "SELECT 'started', $(backup_start_call "$version" "$label");" "${BACKUP_START_TIMEOUT_SECONDS:-1800}")"

# 2. The files. restic stores `.` with the contents at the snapshot's root: a restore's --target is
# the new data directory itself. Its patterns match absolute paths.
data_dir="$(cd "$PGDATA" && pwd -P)"
excludes=()
for pattern in postmaster.pid postmaster.opts standby.signal recovery.signal backup_label backup_label.old \
    tablespace_map tablespace_map.old current_logfiles global/pg_control 'pg_wal/*' 'pg_replslot/*' \
    'pg_dynshmem/*' 'pg_notify/*' 'pg_serial/*' 'pg_snapshots/*' 'pg_stat_tmp/*' 'pg_subtrans/*'; do
  excludes+=(--exclude "$data_dir/$pattern")
done
# Rebuilt at start, in any database's directory: relation cache files and temporary files.
excludes+=(--exclude 'pg_internal.init' --exclude 'pgsql_tmp*')
(cd "$data_dir" && restic_in "$RESTIC_REPOSITORY" backup --json --host "$BACKUP_HOST" --tag pending --tag format=volume "${excludes[@]}" .) >"$work/backup.json" \
  || fail "restic backup of $PGDATA failed: $(tail -n 3 "$work/backup.json" | tr '\n' ' ')"
id="$(sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' "$work/backup.json" | tail -n 1)"
[ -n "$id" ] || fail "restic printed no snapshot id"
bytes="$(sed -n 's/.*"total_bytes_processed":\([0-9]*\).*/\1/p' "$work/backup.json" | tail -n 1)"

# 3. pg_control last, then the end of the backup.
mkdir -p "$work/meta/global"
cp "$PGDATA/global/pg_control" "$work/meta/global/pg_control" || fail "copying global/pg_control failed"
read -r stop_lsn label_text map_text < <(answer stopped "SELECT 'stopped', lsn || ' ' || translate(labelfile, E'\\n ', '|~') || ' ' || coalesce(nullif(translate(spcmapfile, E'\\n ', '|~'), ''), '-') FROM $(backup_stop_call "$version");" 600) \
  || fail "no answer from pg_backup_stop"
printf '\\q\n' >&3
exec 3>&-
wait "$session_pid" || fail "the database session failed: $(tr '\n' ' ' <"$work/session.err")"
session_pid=''
[ "$map_text" = - ] || fail "the cluster has tablespaces (tablespace_map: ${map_text//[|~]/ }), which the volume backup does not copy: use fullBackupSource server"
tr '|~' '\n ' <<<"$label_text" >"$work/meta/backup_label"
ended_at="$(utc_time now)"

start_wal="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$work/meta/backup_label")"
tli="$(sed -n 's/^START TIMELINE: \([0-9]*\)$/\1/p' "$work/meta/backup_label")"
[ "$(sed -n 's/^START WAL LOCATION: \([0-9A-F]*\/[0-9A-F]*\) .*/\1/p' "$work/meta/backup_label")" = "$start_lsn" ] \
  || fail "backup_label's start ($(head -n 1 "$work/meta/backup_label")) is not pg_backup_start's $start_lsn"
if ! is_segment "${start_wal:-}" || [ -z "$tli" ]; then fail "cannot read the start WAL and timeline from backup_label"; fi
end_no="$(lsn_segment "$stop_lsn")" || fail "pg_backup_stop returned '$stop_lsn', not an LSN"
# Plans compare segment numbers, which do not depend on the timeline.
end_wal="$(segment_name "$tli" "$end_no")"

# The meta snapshot: backup_label and pg_control, one tar, checked as stored.
tar -cf "$work/meta.tar" -C "$work/meta" backup_label global/pg_control
meta_id="$(restic_backup_stdin "$RESTIC_REPOSITORY" "$VOLUME_META_FILE" <"$work/meta.tar")" || fail "storing backup_label and pg_control failed"
[ -n "$meta_id" ] || fail "restic printed no snapshot id for the meta"

# 4. Promotion: the meta first (a base is only listed once promoted, and then its meta is there).
restic_promote "$RESTIC_REPOSITORY" "$meta_id" base-meta "set=$set_id" || fail "promoting the meta $meta_id failed"
meta_id=''
restic_promote "$RESTIC_REPOSITORY" "$id" base format=volume "set=$set_id" "tli=$tli" "start-wal=$start_wal" "end-wal=$end_wal" \
  "start-lsn=$start_lsn" "end-lsn=$stop_lsn" "time=$ended_at" || fail "promoting base backup $id failed"
log "volume base backup $id promoted (set $set_id): timeline $tli, WAL $start_wal..$end_wal ($start_lsn..$stop_lsn), ended $ended_at"
id=''; meta_id=''
log_throughput "volume base backup" "${bytes:-0}" $(( $(now_us) - started ))

# 5. Retention, as for streamed bases; a meta goes with its base.
forget_old_bases
