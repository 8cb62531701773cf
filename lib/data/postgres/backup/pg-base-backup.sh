#!/usr/bin/env bash
# Daily base backup: `pg_basebackup` of PGHOST (the standby where one exists, so the primary does not
# pay for the read) in tar format with its backup_manifest, without WAL (`-X none`: the WAL archive
# holds it, restores and pg_verifybackup take it from there), streamed straight into restic as
# base.tar. Streamed rather than staged in SCRATCH_DIR: no second copy of a 200 GiB volume, and the
# data is read once.
#
# The stream is complete only if pg_basebackup, tee, restic and a tar reader of the same stream all
# succeeded and the backup_manifest (pg_basebackup writes it last, ending in its own checksum) came
# through. Then the snapshot is promoted with `base tli= start-wal= end-wal= start-lsn= end-lsn=
# time=<end>`, else forgotten. Then retention: bases older than KEEP_FULL_DAYS (the newest always
# stays), and WAL batches that only the forgotten bases needed.
#
# Usage: pg-base-backup.sh
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   PGHOST, PGPORT, PGUSER, PGPASSWORD   a role with REPLICATION (the construct's replicator)  [required]
#   RESTIC_REPOSITORY, ARCHIVE_REPOSITORY                                                  [required]
#   KEEP_FULL_DAYS                       retention of bases and of the WAL they need           [30]
#   TMPDIR                               a few kB of metadata                                   [/tmp]
set -euo pipefail
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

require RESTIC_REPOSITORY ARCHIVE_REPOSITORY PGHOST PGUSER
KEEP_FULL_DAYS="${KEEP_FULL_DAYS:-30}"
[[ "$KEEP_FULL_DAYS" =~ ^[1-9][0-9]*$ ]] || die "KEEP_FULL_DAYS '$KEEP_FULL_DAYS' must be a positive number of days"
[ $# -eq 0 ] || die "usage: pg-base-backup.sh (no arguments)"

restic_prepare "$RESTIC_REPOSITORY"
restic_prepare "$ARCHIVE_REPOSITORY"

work="$(mktemp -d "${TMPDIR:-/tmp}/pg-base-backup.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/meta"
mkfifo "$work/stream"
# A second reader of the stream: proves it is a whole tar and keeps the label and the manifest.
tar -xf - -C "$work/meta" backup_label backup_manifest <"$work/stream" 2>"$work/tar.err" &
tar_pid=$!

started=$(now_us)
# errexit off for the pipeline: its statuses are checked one by one below.
set +e
log "base backup of $PGHOST:${PGPORT:-5432} as $PGUSER into $RESTIC_REPOSITORY"
pg_basebackup --pgdata=- --format=tar --wal-method=none --checkpoint=fast --no-password \
    --label="pg-base-backup $(date -u +%Y-%m-%dT%H:%M:%SZ)" --verbose 2>"$work/pg_basebackup.err" \
  | tee "$work/stream" \
  | restic_backup_stdin "$RESTIC_REPOSITORY" "$BASE_FILE" >"$work/id"
statuses=("${PIPESTATUS[@]}")
set -e
tar_status=0
wait "$tar_pid" || tar_status=$?
ended_at="$(utc_time now)"
micros=$(( $(now_us) - started ))
sed 's/^/pg_basebackup: /' "$work/pg_basebackup.err" >&2
id="$(cat "$work/id")"

# Why a base is not good, or '' when it is.
problem=''
if ! pipeline_ok "${statuses[@]}"; then
  problem="a stage of pg_basebackup | tee | restic failed (exit statuses ${statuses[*]})"
elif [ "$tar_status" -ne 0 ]; then
  problem="the stream is not a complete tar with backup_label and backup_manifest: $(tr '\n' ' ' <"$work/tar.err")"
elif ! grep -q '"Manifest-Checksum"' "$work/meta/backup_manifest"; then
  problem="backup_manifest has no Manifest-Checksum: the stream was cut"
fi
label="$work/meta/backup_label"
manifest="$work/meta/backup_manifest"
if [ -z "$problem" ]; then
  start_wal="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$label")"
  start_lsn="$(sed -n 's/^START WAL LOCATION: \([0-9A-F]*\/[0-9A-F]*\) .*/\1/p' "$label")"
  tli="$(sed -n 's/^START TIMELINE: \([0-9]*\)$/\1/p' "$label")"
  # The manifest's WAL range: the last entry ends where the backup became consistent.
  end_lsn="$(grep -o '"End-LSN": "[0-9A-F]*/[0-9A-F]*"' "$manifest" | tail -n 1 | sed 's/.*: "//; s/"$//')"
  end_tli="$(grep -o '"Timeline": [0-9]*' "$manifest" | tail -n 1 | sed 's/.*: //')"
  if ! is_segment "${start_wal:-}" || [ -z "$start_lsn" ] || [ -z "$tli" ] || [ -z "$end_lsn" ] || [ -z "$end_tli" ]; then
    problem="cannot read the WAL range from backup_label / backup_manifest"
  else
    end_wal="$(segment_name "$end_tli" "$(lsn_segment "$end_lsn")")"
  fi
fi
if [ -n "$problem" ]; then
  [ -z "$id" ] || restic_discard "$RESTIC_REPOSITORY" "$id"
  die "base backup failed, nothing promoted: $problem"
fi
[ -n "$id" ] || die "restic printed no snapshot id"
restic_promote "$RESTIC_REPOSITORY" "$id" base "tli=$tli" "start-wal=$start_wal" "end-wal=$end_wal" \
  "start-lsn=$start_lsn" "end-lsn=$end_lsn" "time=$ended_at" || { restic_discard "$RESTIC_REPOSITORY" "$id"; die "promoting base backup $id failed"; }
bytes="$(grep -o '"Size": [0-9]*' "$manifest" | awk '{ s += $2 } END { printf "%d", s }')"
log "base backup $id promoted: timeline $tli, WAL $start_wal..$end_wal ($start_lsn..$end_lsn), ended $ended_at"
log_throughput "base backup" "$bytes" "$micros"

# Retention: bases older than KEEP_FULL_DAYS (the newest stays) and the WAL only they needed.
forget_old_bases
