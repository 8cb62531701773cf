#!/usr/bin/env bash
# redis-backup.sh hourly|daily: an RDB snapshot of every master into one restic snapshot.
#
# Each master's RDB is read remotely with `redis-cli --rdb` (a replication SYNC with `REPLCONF
# rdb-only`): the master forks and produces a FRESH snapshot for this reader, and redis-cli
# receives it whole or fails. So no separate BGSAVE is needed, and nothing ever reads a dump.rdb
# that a BGSAVE is still writing: when a BGSAVE or AOF rewrite is already running, the master
# finishes it first, then forks for the sync (only one child at a time), and redis-cli waits
# (the master keeps the link alive with newlines meanwhile). The volume is never touched.
#
# Memory: the fork copies on write every page written during the transfer, like a BGSAVE (one at
# a time per master, never two, since a master runs one child). maxmemory <= 60% of the memory limit
# (enforced at synth) leaves 40%: room for the copies of up to two thirds of the data set being
# rewritten during the transfer, plus client and replication buffers.
#
# Masters: for a cluster, discovered from CLUSTER NODES of the first member of REDIS_NODES that sees
# cluster_state ok (masters move on every failover, so a fixed list would soon back up a replica
# twice and miss a master); the run refuses to back up a cluster whose masters do not serve all
# 16384 slots. Each master's RDB is named by its slots (slots-0-5460.rdb). A standalone primary is
# REDIS_NODES itself (must answer ROLE master); its RDB is primary.rdb (node-<host>-<port>.rdb
# when several are listed). Masters are read in parallel.
#
# Each RDB is checked with redis-check-rdb (its key count recorded in manifest.tsv); only when
# every master's RDB is complete and valid does the run back them up, and only the whole set is
# promoted (tags rdb, hourly|daily, keys=<total>, masters=<n>). Then retention: hourly snapshots
# older than KEEP_INCREMENTAL_DAYS, daily ones older than KEEP_FULL_DAYS are forgotten.
#
# Environment (besides restic.sh's RESTIC, RESTIC_PASSWORD, BACKUP_HOST, LOCK_WAIT_SECONDS):
#   RESTIC_REPOSITORY           required: the store's repository
#   REDIS_NODES                 required: space-separated host:port; cluster: any members (seeds),
#                               standalone: the primary
#   REDISCLI_AUTH               the password (redis-cli reads it)
#   SCRATCH_DIR                 required: room for one RDB per master (about the data set size)
#   KEEP_INCREMENTAL_DAYS       retention of hourly snapshots in days (7)
#   KEEP_FULL_DAYS              retention of daily snapshots in days (30)
#   REDIS_SYNC_TIMEOUT_SECONDS  limit for reading one master's RDB (3600)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/redis-backup-lib.sh
. "$(dirname "$0")/redis-backup-lib.sh"

schedule=${1:-}
case "$schedule" in
  hourly) keep_days=${KEEP_INCREMENTAL_DAYS:-7} ;;
  daily) keep_days=${KEEP_FULL_DAYS:-30} ;;
  *) die "usage: redis-backup.sh hourly|daily, but '${schedule}' was given" ;;
esac
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
read -r -a seeds <<<"${REDIS_NODES:-}"
(( ${#seeds[@]} > 0 )) || die 'REDIS_NODES is empty: it must name the members (cluster) or the primary (standalone) as host:port'
sync_timeout=${REDIS_SYNC_TIMEOUT_SECONDS:-3600}
[[ "$sync_timeout" =~ ^[0-9]+$ && "$keep_days" =~ ^[0-9]+$ ]] || die "REDIS_SYNC_TIMEOUT_SECONDS ($sync_timeout) and the retention days ($keep_days) must be integers"

restic_prepare "$RESTIC_REPOSITORY"

work=$(mktemp -d "$SCRATCH_DIR/redis-backup.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One line per master: file, node id, address, slots ("-" for standalone).
targets=()
cluster_enabled=$(info_field "$(rcli "${seeds[0]}" info cluster)" cluster_enabled)
if [[ "$cluster_enabled" == 1 ]]; then
  nodes=''
  for seed in "${seeds[@]}"; do
    if [[ "$(info_field "$(rcli "$seed" cluster info 2>/dev/null || true)" cluster_state)" == ok ]]; then
      nodes=$(rcli "$seed" cluster nodes)
      log "masters discovered from CLUSTER NODES of $seed"
      break
    fi
    log "$seed does not see cluster_state ok; trying the next member"
  done
  [[ -n "$nodes" ]] || die "no member of REDIS_NODES (${seeds[*]}) sees cluster_state ok: a backup now would miss slots"
  # Masters serving slots and not failed: `file id ip:port slot-ranges(_-joined) slot-count`.
  mapfile -t targets < <(awk '
    $3 ~ /master/ && $3 !~ /(^|,)(fail\??|noaddr|handshake)(,|$)/ && NF >= 9 {
      ranges = ""; count = 0
      for (i = 9; i <= NF; i++) {
        if ($i ~ /^\[/) continue
        n = split($i, r, "-"); count += (n == 2 ? r[2] - r[1] + 1 : 1)
        ranges = ranges (ranges == "" ? "" : "_") $i
      }
      address = $2; sub(/@.*/, "", address)
      print "slots-" ranges ".rdb", $1, address, ranges, count
    }' <<<"$nodes")
  covered=0
  for target in "${targets[@]}"; do read -r _ _ _ _ count <<<"$target"; covered=$((covered + count)); done
  (( covered == 16384 )) || die "the healthy masters serve $covered of 16384 slots: refusing a backup that misses keys; inspect with: redis-cli --cluster check ${seeds[0]}"
else
  for node in "${seeds[@]}"; do
    role=$(rcli "$node" role | head -n 1)
    [[ "$role" == master ]] || die "$node answers ROLE '$role', not master: REDIS_NODES must name the primary of a standalone Redis"
    file="node-${node%:*}-${node##*:}.rdb"
    (( ${#seeds[@]} == 1 )) && file=primary.rdb
    targets+=("$file - $node - 0")
  done
fi
log "backing up ${#targets[@]} master(s) ($schedule)"

# Reads one master's RDB into $work/<file> and checks it; writes its key count to <file>.keys.
fetch_rdb() {
  local file=$1 address=$2 keys
  if ! timeout "$sync_timeout" redis-cli -h "${address%:*}" -p "${address##*:}" --rdb "$work/$file.part" >"$work/$file.out" 2>&1; then
    log "reading the RDB of $address failed:"; cat "$work/$file.out" >&2
    return 1
  fi
  keys=$(rdb_check_keys "$work/$file.part") || { log "the RDB of $address ($file) is not a complete, valid RDB"; return 1; }
  mv "$work/$file.part" "$work/$file"
  printf '%s\n' "$keys" >"$work/$file.keys"
}

start=$(now_us)
pids=()
for target in "${targets[@]}"; do
  read -r file _ address _ _ <<<"$target"
  fetch_rdb "$file" "$address" &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { log "master ${targets[$i]} failed"; failed=1; }
done
(( failed == 0 )) || die "the RDB of at least one master could not be read or is invalid: nothing was backed up"

total_keys=0 total_bytes=0 files=("$REDIS_MANIFEST")
printf 'file\tnode\taddress\tslots\tkeys\tbytes\n' >"$work/$REDIS_MANIFEST"
for target in "${targets[@]}"; do
  read -r file id address slots _ <<<"$target"
  keys=$(cat "$work/$file.keys")
  bytes=$(stat -c %s "$work/$file")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$id" "$address" "$slots" "$keys" "$bytes" >>"$work/$REDIS_MANIFEST"
  log "$address ($file): $keys keys, $bytes bytes"
  total_keys=$((total_keys + keys)); total_bytes=$((total_bytes + bytes))
  files+=("$file")
done
log_throughput "read ${#targets[@]} RDB(s)" "$total_bytes" "$(( $(now_us) - start ))"

upload_start=$(now_us)
id=$(cd "$work" && restic_backup_paths "$RESTIC_REPOSITORY" redis "${files[@]}") || die 'restic backup of the RDBs failed'
if ! restic_promote "$RESTIC_REPOSITORY" "$id" rdb "$schedule" "keys=$total_keys" "masters=${#targets[@]}"; then
  restic_discard "$RESTIC_REPOSITORY" "$id"
  die "could not promote snapshot $id"
fi
log_throughput "uploaded snapshot $id" "$total_bytes" "$(( $(now_us) - upload_start ))"
log_throughput "backup ($schedule, $total_keys keys)" "$total_bytes" "$(( $(now_us) - start ))"

restic_forget_older "$RESTIC_REPOSITORY" "$schedule" "$keep_days"
log "done: snapshot $id"
