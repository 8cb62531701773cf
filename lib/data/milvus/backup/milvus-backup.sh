#!/usr/bin/env bash
# milvus-backup.sh collections|files...: Milvus's data into the repository, one snapshot per kind,
# in the order given (the daily job runs `collections files` where file buckets are configured).
#
#   collections  `milvus-backup create -n <name>` (zilliztech/milvus-backup: it reads the
#                collections through the Milvus proxy and copies their segments inside object
#                storage, into the backup bucket; it cannot write to a local path), then that
#                backup's folder of the backup bucket mirrored into SCRATCH_DIR (`mc mirror`) and
#                backed up with restic; promoted (tags milvus, backup=<name>, bytes=<n>) only when
#                milvus-backup printed `success` (it exits 0 on failure too), the mirror succeeded,
#                the mirror holds the backup's meta/backup_meta.json with state BACKUP_SUCCESS, and
#                its binlogs/ hold at least the bytes that meta records (a binlog garbage-collected
#                during the copy is skipped by milvus-backup without an error). Then the copy in
#                the backup bucket is deleted (`milvus-backup delete`): it lives on the same MinIO
#                disk, and the off-site copy is restic's. Retention KEEP_FULL_DAYS.
#   files        the MinIO application buckets (MINIO_BUCKETS, the R27 files) mirrored into
#                SCRATCH_DIR and backed up as one snapshot (tags minio-files, buckets=<n>,
#                objects=<n>, bytes=<n>), daily, retention KEEP_FULL_DAYS.
# Every kind given runs even when an earlier one failed; the run fails if any did.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY      required: the Milvus store's repository
#   SCRATCH_DIR            required: room for the backup (about the object storage's size)
#   MINIO_ENDPOINT         required: host:port of the MinIO S3 API (the Service)
#   MINIO_ACCESS_KEY, MINIO_SECRET_KEY  required: MinIO credentials (from the Secrets; given to mc
#                          as MC_HOST_src, never on a command line; milvus-backup reads these two
#                          variables over its backup.yaml)
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
# shellcheck source=SCRIPTDIR/milvus-lib.sh
. "$(dirname "$0")/milvus-lib.sh"

(( $# > 0 )) || die 'usage: milvus-backup.sh collections|files..., but no kind was given'
for kind in "$@"; do
  [[ "$kind" == collections || "$kind" == files ]] || die "usage: milvus-backup.sh collections|files..., but '$kind' was given"
done
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
keep_days=${KEEP_FULL_DAYS:-30}
backup_bucket=${MILVUS_BACKUP_BUCKET:-milvus-backup}
backup_root=${MILVUS_BACKUP_ROOT:-backup}
mc_source_alias

# Backs up the folders $3... of $work as one snapshot with tag $1 (and the tags $2, space-separated).
store_snapshot() {
  local tag=$1 tags id; read -r -a tags <<<"$2"; shift 2
  id=$(cd "$work" && restic_backup_paths "$RESTIC_REPOSITORY" "$tag-upload" "$@") || { log 'restic backup failed'; return 1; }
  if ! restic_promote "$RESTIC_REPOSITORY" "$id" "$tag" "${tags[@]}"; then
    restic_discard "$RESTIC_REPOSITORY" "$id"
    log "could not promote snapshot $id"
    return 1
  fi
  echo "$id"
}

backup_collections() {
  local name bytes id start
  start=$(now_us)
  name="backup_$(date -u +%Y%m%d_%H%M%S)"
  milvus_backup create -n "$name" || { log "milvus-backup create -n $name failed"; return 1; }
  if ! mc mirror --quiet "src/$backup_bucket/$backup_root/$name" "$work/$name" >&2; then
    log "mc mirror of src/$backup_bucket/$backup_root/$name failed"
    return 1
  fi
  bytes=$(check_backup_folder "$work/$name") || { log "the mirrored backup $name is not whole: not backed up"; return 1; }
  log_throughput "copied $name from object storage" "$(tree_bytes "$work/$name")" "$(( $(now_us) - start ))"
  id=$(store_snapshot milvus "backup=$name bytes=$bytes" "$name") || return 1
  log_throughput "collections backup $id" "$bytes" "$(( $(now_us) - start ))"
  milvus_backup delete -n "$name" || log "warning: could not delete $name from the backup bucket (it is safe in restic; delete it with: milvus-backup delete -n $name)"
  restic_forget_older "$RESTIC_REPOSITORY" milvus "$keep_days" || { log 'restic forget of old collections backups failed'; return 1; }
  log "collections: snapshot $id"
}

backup_files() {
  local buckets bucket bytes objects id start
  read -r -a buckets <<<"${MINIO_BUCKETS:-}"
  (( ${#buckets[@]} > 0 )) || { log 'MINIO_BUCKETS is empty'; return 1; }
  start=$(now_us)
  mkdir -p "$work/files" || return 1
  for bucket in "${buckets[@]}"; do
    mc mirror --quiet "src/$bucket" "$work/files/$bucket" >&2 || { log "mc mirror of src/$bucket failed"; return 1; }
  done
  bytes=$(tree_bytes "$work/files") objects=$(tree_files "$work/files")
  log_throughput "copied ${#buckets[@]} buckets from object storage" "$bytes" "$(( $(now_us) - start ))"
  id=$(store_snapshot minio-files "buckets=${#buckets[@]} objects=$objects bytes=$bytes" files) || return 1
  log_throughput "files backup $id" "$bytes" "$(( $(now_us) - start ))"
  restic_forget_older "$RESTIC_REPOSITORY" minio-files "$keep_days" || { log 'restic forget of old files backups failed'; return 1; }
  log "files: snapshot $id"
}

restic_prepare "$RESTIC_REPOSITORY"
# Each kind's function runs under `||`, where bash ignores `set -e`: they check every step themselves.
failed=()
for kind in "$@"; do
  work=$(mktemp -d "$SCRATCH_DIR/milvus-backup.XXXXXX")
  "backup_$kind" || failed+=("$kind")
  rm -rf "$work"
done
(( ${#failed[@]} == 0 )) || die "backup of ${failed[*]} failed"
log 'done'
