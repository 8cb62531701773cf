# shellcheck shell=bash
# What milvus-backup.sh and milvus-restore.sh share (sourced after restic.sh).

# mc reads an alias from MC_HOST_<alias>: the credentials stay out of argv (ps) and out of files.
mc_source_alias() {
  [[ -n "${MINIO_ENDPOINT:-}" && -n "${MINIO_ACCESS_KEY:-}" && -n "${MINIO_SECRET_KEY:-}" ]] || die 'MINIO_ENDPOINT, MINIO_ACCESS_KEY and MINIO_SECRET_KEY are required'
  export MC_HOST_src="${MINIO_SCHEME:-http}://${MINIO_ACCESS_KEY}:${MINIO_SECRET_KEY}@${MINIO_ENDPOINT}"
}

# Bytes, and files, under directory $1 (0 when it does not exist).
tree_bytes() { if [[ -d "$1" ]]; then find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; else echo 0; fi; }
tree_files() { if [[ -d "$1" ]]; then find "$1" -type f | wc -l; else echo 0; fi; }

# milvus-backup SUBCOMMAND ARGS...: its CLI exits 0 whatever happened and prints the response's
# message on a line of its own, `success` when the request succeeded; its log goes to stderr here.
milvus_backup() {
  local out status=0
  out=$(milvus-backup "$@" --config "${MILVUS_BACKUP_CONFIG:-/backup/config/backup.yaml}" 2>&1) || status=$?
  printf '%s\n' "$out" >&2
  (( status == 0 )) || return "$status"
  grep -qx 'success' <<<"$out"
}

# A milvus-backup folder $1 is whole: its meta says BACKUP_SUCCESS and its binlogs hold at least the
# bytes the meta records. Prints that byte count; logs why and returns 1 when it is not whole.
check_backup_folder() {
  local dir=$1 meta size got
  meta="$dir/meta/backup_meta.json"
  [[ -s "$meta" ]] || { log "$dir has no meta/backup_meta.json: incomplete"; return 1; }
  # encoding/json output of BackupInfo: "state_code":2 is BACKUP_SUCCESS; "size" sums every binlog copied.
  grep -q '"state_code":2[,}]' "$meta" || { log "$meta does not record state BACKUP_SUCCESS: $(head -c 300 "$meta")"; return 1; }
  size=$(grep -o '"size":[0-9]*' "$meta" | head -n 1 | cut -d: -f2)
  [[ "$size" =~ ^[0-9]+$ ]] || { log "$meta records no size"; return 1; }
  got=$(tree_bytes "$dir/binlogs")
  (( got >= size )) || { log "$dir/binlogs holds $got bytes but the backup records $size: binlogs are missing"; return 1; }
  echo "$size"
}
