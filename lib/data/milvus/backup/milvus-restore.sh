#!/usr/bin/env bash
# milvus-restore.sh restore|test [snapshot|latest]: a collections backup of milvus-backup.sh out of
# the repository (default: the newest promoted, tag milvus).
#
#   restore  restic restore of the snapshot's folder into SCRATCH_DIR, checked whole (meta state
#            BACKUP_SUCCESS, binlogs holding the bytes the meta and the snapshot's bytes= tag
#            record), mirrored back into the backup bucket (`mc mirror --overwrite`), then
#            `milvus-backup restore -n <name> --restore_index` into the running Milvus: every
#            collection of the backup is created and its data imported, and its indexes rebuilt.
#            milvus-backup refuses a collection that exists: drop it first, or set RESTORE_SUFFIX
#            to restore beside it under <name><suffix>. Then the copy in the backup bucket is
#            deleted (`milvus-backup delete`).
#   test     the monthly restore test: the same restic restore and checks, without touching MinIO
#            or Milvus; with MINIO_BUCKETS set, also the newest files snapshot (tag minio-files),
#            its object count and bytes compared with those recorded at backup time.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY      required: the Milvus store's repository
#   SCRATCH_DIR            required: room for the backup
#   restore: MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_SCHEME (http),
#            MILVUS_BACKUP_CONFIG, MILVUS_BACKUP_BUCKET, MILVUS_BACKUP_ROOT, as for milvus-backup.sh
#   RESTORE_SUFFIX         restore: appended to every restored collection's name (none)
#   MINIO_BUCKETS          test: the file buckets backed up (none: no files snapshot expected)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/milvus-lib.sh
. "$(dirname "$0")/milvus-lib.sh"

mode=${1:-}
wanted=${2:-latest}
[[ "$mode" == restore || "$mode" == test ]] || die "usage: milvus-restore.sh restore|test [snapshot|latest], but '$mode' was given"
[[ "$wanted" == latest || "$wanted" =~ ^[0-9a-f]{8,64}$ ]] || die "the snapshot must be latest or a snapshot id, but '$wanted' was given"
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
backup_bucket=${MILVUS_BACKUP_BUCKET:-milvus-backup}
backup_root=${MILVUS_BACKUP_ROOT:-backup}
if [[ "$mode" == restore ]]; then
  mc_source_alias
fi

# The promoted snapshot with tag $1 to use ($2: id or "latest"); prints its JSON line.
snapshot_line() {
  local tag=$1 wanted=$2 line
  if [[ "$wanted" == latest ]]; then
    line=$(restic_snapshots "$RESTIC_REPOSITORY" "$tag" | tail -n 1)
  else
    line=$(restic_snapshots "$RESTIC_REPOSITORY" "$tag" | grep "\"id\":\"$wanted" | tail -n 1 || true)
  fi
  [[ -n "$line" ]] || die "no promoted $tag snapshot '$wanted' in $RESTIC_REPOSITORY"
  printf '%s\n' "$line"
}

restic_prepare "$RESTIC_REPOSITORY"
work=$(mktemp -d "$SCRATCH_DIR/milvus-restore.XXXXXX")
trap 'rm -rf "$work"' EXIT

line=$(snapshot_line milvus "$wanted")
id=$(snapshot_id "$line")
name=$(snapshot_tag "$line" backup)
bytes=$(snapshot_tag "$line" bytes)
[[ "$name" =~ ^backup_[0-9]{8}_[0-9]{6}$ && "$bytes" =~ ^[0-9]+$ ]] || die "snapshot $id has no backup=/bytes= tags"
started=$(date +%s)
restic_in "$RESTIC_REPOSITORY" restore "$id" --target "$work" >&2 || die "restic restore of $id failed"
# The same check as at backup time, and exactly the bytes= the snapshot was tagged with.
size=$(check_backup_folder "$work/$name") || die "snapshot $id does not hold milvus-backup $name whole"
[[ "$size" == "$bytes" ]] || die "$work/$name/meta/backup_meta.json records $size bytes but the snapshot was tagged bytes=$bytes"
log "snapshot $id holds milvus-backup $name whole ($bytes bytes of binlogs), restored from restic in $(( $(date +%s) - started ))s"

if [[ "$mode" == test ]]; then
  read -r -a buckets <<<"${MINIO_BUCKETS:-}"
  if (( ${#buckets[@]} > 0 )); then
    line=$(snapshot_line minio-files latest)
    files_id=$(snapshot_id "$line")
    restic_in "$RESTIC_REPOSITORY" restore "$files_id" --target "$work/files-test" >&2 || die "restic restore of $files_id failed"
    objects=$(tree_files "$work/files-test/files") got=$(tree_bytes "$work/files-test/files")
    [[ "$objects" == "$(snapshot_tag "$line" objects)" && "$got" == "$(snapshot_tag "$line" bytes)" ]] \
      || die "files snapshot $files_id restored $objects objects of $got bytes but $(snapshot_tag "$line" objects) of $(snapshot_tag "$line" bytes) were recorded"
    log "files snapshot $files_id restored whole: $objects objects, $got bytes"
  fi
  log "restore test of $id passed"
  exit 0
fi

mc mirror --quiet --overwrite "$work/$name" "src/$backup_bucket/$backup_root/$name" >&2 || die "mc mirror of $name into src/$backup_bucket/$backup_root failed"
args=(restore -n "$name" --restore_index)
[[ -z "${RESTORE_SUFFIX:-}" ]] || args+=(--suffix "$RESTORE_SUFFIX")
milvus_backup "${args[@]}" || die "milvus-backup restore -n $name failed (the backup stays in src/$backup_bucket/$backup_root/$name)"
log "restored the collections of $name (snapshot $id) into Milvus in $(( $(date +%s) - started ))s"
milvus_backup delete -n "$name" || log "warning: could not delete $name from the backup bucket (delete it with: milvus-backup delete -n $name)"
