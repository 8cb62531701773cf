#!/usr/bin/env bash
# redis-restore-test.sh [snapshot|latest]: restores every RDB of a Redis backup (default: the
# newest promoted one) into a scratch redis-server in SCRATCH_DIR (unix socket, no TCP port), and
# compares the keys it loads (plus those already expired: TTLs run on between backup and test)
# with the count redis-check-rdb recorded when the backup was taken, and DBSIZE with the keys
# loaded. Exits non-zero when any RDB differs, fails to load or is missing; checks all of them
# first, so the log names every one that failed.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY  required: the store's repository
#   SCRATCH_DIR        required: room for the largest master's RDB and its data set on disk
#   REDIS_LOAD_TIMEOUT_SECONDS  limit for loading one RDB (3600)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/redis-backup-lib.sh
. "$(dirname "$0")/redis-backup-lib.sh"

wanted=${1:-latest}
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"

restic_prepare "$RESTIC_REPOSITORY"
id=$(redis_snapshot_id "$RESTIC_REPOSITORY" "$wanted")
manifest=$(restic_in "$RESTIC_REPOSITORY" dump "$id" "/$REDIS_MANIFEST") || die "snapshot $id has no readable $REDIS_MANIFEST"
log "restore test of snapshot $id"

work=$(mktemp -d "$SCRATCH_DIR/redis-restore-test.XXXXXX")
socket_dir=$(mktemp -d)
socket="$socket_dir/redis.sock"
cleanup() { scratch_redis_stop "$socket"; rm -rf "$work" "$socket_dir"; }
trap cleanup EXIT

failures=() total_bytes=0 start=$(now_us)
while IFS=$'\t' read -r file _ address slots expected _; do
  rdb_start=$(now_us)
  if ! restic_in "$RESTIC_REPOSITORY" dump "$id" "/$file" >"$work/$file"; then
    failures+=("$file: restic dump failed"); continue
  fi
  bytes=$(stat -c %s "$work/$file")
  if ! scratch_redis_start "$work" "$socket" "$file"; then
    failures+=("$file: the scratch server could not load it"); rm -f "$work/$file"; continue
  fi
  info=$(redis-cli -s "$socket" info persistence | tr -d '\r')
  loaded=$(info_field "$info" rdb_last_load_keys_loaded)
  expired=$(info_field "$info" rdb_last_load_keys_expired)
  dbsize=$(redis-cli -s "$socket" dbsize | tr -d '\r')
  scratch_redis_stop "$socket"
  rm -f "$work/$file"
  if [[ ! "$loaded" =~ ^[0-9]+$ || ! "$expired" =~ ^[0-9]+$ ]]; then
    failures+=("$file: the server reported no load counts")
  elif (( loaded + expired != expected )); then
    failures+=("$file ($address, slots $slots): $loaded keys loaded + $expired expired, but $expected recorded at backup time")
  elif [[ "$dbsize" != "$loaded" ]]; then
    failures+=("$file: DBSIZE $dbsize after loading $loaded keys")
  else
    log "$file ($address, slots $slots): $loaded keys loaded + $expired expired = $expected recorded: ok"
  fi
  log_throughput "restored $file" "$bytes" "$(( $(now_us) - rdb_start ))"
  total_bytes=$((total_bytes + bytes))
done < <(awk 'NR > 1' <<<"$manifest")

rows=$(awk 'NR > 1' <<<"$manifest" | grep -c . || true)
(( rows > 0 )) || failures+=("the manifest of $id lists no RDB")
log_throughput "restore test of $rows RDB(s)" "$total_bytes" "$(( $(now_us) - start ))"
if (( ${#failures[@]} > 0 )); then
  printf '%s\n' "${failures[@]}" | while read -r line; do log "FAILED: $line"; done
  die "restore test of snapshot $id failed for ${#failures[@]} RDB(s)"
fi
log "restore test of snapshot $id passed: every RDB loads the key count recorded at backup time"
