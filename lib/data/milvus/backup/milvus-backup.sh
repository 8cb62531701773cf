#!/usr/bin/env bash
# milvus-backup.sh collections|files: Milvus's data into the repository.
#
#   collections  `milvus-backup create -n <name>` (zilliztech/milvus-backup: it reads the
#                collections through the Milvus proxy and copies their segments inside object
#                storage, into the backup bucket; it cannot write to a local path), then that
#                backup's folder of the backup bucket mirrored into SCRATCH_DIR (`mc mirror`) and
#                backed up with restic; promoted (tags milvus, backup=<name>) only when
#                milvus-backup and the mirror succeeded and the mirror holds the backup's
#                meta/backup_meta.json. Then the copy in the backup bucket is deleted
#                (`milvus-backup delete`): it lives on the same MinIO disk, and the off-site copy
#                is restic's. Retention KEEP_FULL_DAYS.
#   files        the MinIO application buckets (MINIO_BUCKETS, the R27 files) mirrored into
#                SCRATCH_DIR and backed up as one snapshot (tag minio-files), daily, retention
#                KEEP_FULL_DAYS.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY      required: the Milvus store's repository
#   SCRATCH_DIR            required: room for the backup (about the object storage's size)
#   MINIO_ENDPOINT         required: host:port of the MinIO S3 API (the Service)
#   MINIO_ACCESS_KEY, MINIO_SECRET_KEY  required: MinIO credentials (from the Secrets; given to mc
#                          as MC_HOST_src, never on a command line)
#   MINIO_SCHEME           http or https (http)
#   MILVUS_BACKUP_CONFIG   collections: milvus-backup's backup.yaml (/backup/config/backup.yaml)
#   MILVUS_BACKUP_BUCKET   collections: the backup bucket named in backup.yaml (milvus-backup)
#   MILVUS_BACKUP_ROOT     collections: its rootPath in that bucket (backup)
#   MINIO_BUCKETS          files: space-separated buckets to back up
#   KEEP_FULL_DAYS         retention in days (30)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"

kind=${1:-}
[[ "$kind" == collections || "$kind" == files ]] || die "usage: milvus-backup.sh collections|files, but '$kind' was given"
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
[[ -n "${MINIO_ENDPOINT:-}" && -n "${MINIO_ACCESS_KEY:-}" && -n "${MINIO_SECRET_KEY:-}" ]] || die 'MINIO_ENDPOINT, MINIO_ACCESS_KEY and MINIO_SECRET_KEY are required'
keep_days=${KEEP_FULL_DAYS:-30}
# mc reads an alias from MC_HOST_<alias>: the credentials stay out of argv (ps) and out of files.
export MC_HOST_src="${MINIO_SCHEME:-http}://${MINIO_ACCESS_KEY}:${MINIO_SECRET_KEY}@${MINIO_ENDPOINT}"

now_us() { date +%s%6N; }
log_throughput() {
  local what=$1 bytes=$2 us=$3
  (( us > 0 )) || us=1
  log "$what: $bytes bytes in $(awk -v u="$us" 'BEGIN { printf "%.2f", u / 1e6 }') s, $(awk -v b="$bytes" -v u="$us" 'BEGIN { printf "%.1f", b / 1048576 / (u / 1e6) }') MB/s"
}

restic_prepare "$RESTIC_REPOSITORY"
work=$(mktemp -d "$SCRATCH_DIR/milvus-backup.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(now_us)

if [[ "$kind" == collections ]]; then
  config=${MILVUS_BACKUP_CONFIG:-/backup/config/backup.yaml}
  bucket=${MILVUS_BACKUP_BUCKET:-milvus-backup}
  root=${MILVUS_BACKUP_ROOT:-backup}
  name="backup_$(date -u +%Y%m%d_%H%M%S)"
  milvus-backup create -n "$name" --config "$config" >&2 || die "milvus-backup create -n $name failed"
  mc mirror --quiet "src/$bucket/$root/$name" "$work/$name" >&2 || die "mc mirror of src/$bucket/$root/$name failed"
  [[ -s "$work/$name/meta/backup_meta.json" ]] || die "the mirrored backup $name has no meta/backup_meta.json: incomplete"
  paths=("$name") tags=(milvus "backup=$name") tag=milvus
else
  read -r -a buckets <<<"${MINIO_BUCKETS:-}"
  (( ${#buckets[@]} > 0 )) || die 'MINIO_BUCKETS is empty'
  for bucket in "${buckets[@]}"; do
    mc mirror --quiet "src/$bucket" "$work/$bucket" >&2 || die "mc mirror of src/$bucket failed"
  done
  paths=("${buckets[@]}") tags=(minio-files "buckets=${#buckets[@]}") tag=minio-files
fi
bytes=$(du -sb "$work" | cut -f 1)
log_throughput "copied from object storage" "$bytes" "$(( $(now_us) - start ))"

id=$(cd "$work" && restic_backup_paths "$RESTIC_REPOSITORY" "$tag-upload" "${paths[@]}") || die 'restic backup failed'
if ! restic_promote "$RESTIC_REPOSITORY" "$id" "${tags[@]}"; then
  restic_discard "$RESTIC_REPOSITORY" "$id"
  die "could not promote snapshot $id"
fi
log_throughput "$kind backup $id" "$bytes" "$(( $(now_us) - start ))"
if [[ "$kind" == collections ]]; then
  milvus-backup delete -n "$name" --config "$config" >&2 || log "warning: could not delete $name from the backup bucket (it is safe in restic; delete it with: milvus-backup delete -n $name)"
fi
restic_forget_older "$RESTIC_REPOSITORY" "$tag" "$keep_days"
log "done: snapshot $id"
