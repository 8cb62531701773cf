#!/usr/bin/env bash
# redis-restore.sh [snapshot|latest]: puts the data of a Redis backup onto ONE member's volume
# (REDIS_DATA_DIR), ready for the member to start with it. Run once per member (a Job per PVC)
# while the whole StatefulSet is scaled to 0: a member that runs (or a replica that would fail over
# to newer data) would undo the restore.
#
# Which RDB of the snapshot:
#   cluster member (nodes.conf present)  the RDB of the slots the member serves (master) or its
#                                        master serves (replica), by nodes.conf; so every member of
#                                        a slot range gets the same data, whichever wins after
#                                        the start. A slot layout that differs from the backup's is
#                                        refused (reshard first, or import, see the README).
#   standalone (no nodes.conf)           primary.rdb (replicas of the primary need nothing: they
#                                        full-sync from it when they reconnect)
#   REDIS_RESTORE_FILE                   overrides the choice
#
# Why not just dump.rdb: the servers run with `appendonly yes`, and such a server loads only the
# AOF (appendonlydir); given a dump.rdb and no AOF it starts EMPTY. So the script moves the current
# dump.rdb and appendonlydir aside (pre-restore-<time>/ on the same volume, a rename: no space
# needed), places the RDB, loads it into a local redis-server (unix socket, no port, cluster mode
# off so nodes.conf is untouched), checks that it loaded exactly the key count recorded at backup
# time, turns the AOF on (CONFIG SET appendonly yes writes a fresh AOF from memory), waits for that
# rewrite, stops, then starts once more with the AOF the way the member will and checks the count
# again. nodes.conf (the member's cluster identity and slots) stays as it is.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY     required: the store's repository
#   REDIS_DATA_DIR        the member's data directory, its volume (/data)
#   REDIS_RESTORE_FILE    the RDB of the snapshot to restore (chosen from nodes.conf, see above)
#   REDIS_APPENDDIRNAME   appenddirname of the server's configuration (appendonlydir)
#   REDIS_APPENDFILENAME  appendfilename of the server's configuration (appendonly.aof)
#   REDIS_LOAD_TIMEOUT_SECONDS  limit for loading the data set (3600)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/redis-backup-lib.sh
. "$(dirname "$0")/redis-backup-lib.sh"

wanted=${1:-latest}
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
data=${REDIS_DATA_DIR:-/data}
appenddir=${REDIS_APPENDDIRNAME:-appendonlydir}
appendfile=${REDIS_APPENDFILENAME:-appendonly.aof}
[[ -d "$data" && -w "$data" ]] || die "REDIS_DATA_DIR $data is not a writable directory"

# A cluster member holds an exclusive lock on nodes.conf while it runs.
if [[ -e "$data/nodes.conf" ]] && ! flock -n "$data/nodes.conf" true; then
  die "a redis-server is running on $data (nodes.conf is locked): scale the StatefulSet to 0 first"
fi

id=$(redis_snapshot_id "$RESTIC_REPOSITORY" "$wanted")
manifest=$(restic_in "$RESTIC_REPOSITORY" dump "$id" "/$REDIS_MANIFEST") || die "snapshot $id has no readable $REDIS_MANIFEST"
log "restoring from snapshot $id"

file=${REDIS_RESTORE_FILE:-}
if [[ -z "$file" ]]; then
  if [[ -s "$data/nodes.conf" ]]; then
    # `<slot ranges joined by _>` served by node $1 in nodes.conf ([...] migration entries dropped).
    slots_of() { awk -v id="$1" '$1 == id { s = ""; for (i = 9; i <= NF; i++) if ($i !~ /^\[/) s = s (s == "" ? "" : "_") $i; print s }' "$data/nodes.conf"; }
    read -r own_id own_flags own_master < <(awk '$3 ~ /myself/ { print $1, $3, $4 }' "$data/nodes.conf")
    [[ -n "${own_id:-}" ]] || die "$data/nodes.conf has no myself line"
    if [[ "$own_flags" == *slave* ]]; then slots=$(slots_of "$own_master"); else slots=$(slots_of "$own_id"); fi
    [[ -n "$slots" ]] || die "member $own_id ($own_flags) serves no slots by $data/nodes.conf: nothing of the backup belongs on it"
    file="slots-$slots.rdb"
  else
    file=primary.rdb
  fi
fi
row=$(awk -F '\t' -v f="$file" 'NR > 1 && $1 == f' <<<"$manifest")
[[ -n "$row" ]] || die "snapshot $id has no $file (it has: $(awk -F '\t' 'NR > 1 { printf "%s ", $1 }' <<<"$manifest")); the slot layout changed since the backup: see the README's Redis restore runbook"
expected=$(cut -f 5 <<<"$row")
log "member data: $file, $expected keys at backup time"

start=$(now_us)
part="$data/restore.rdb.part"
restic_in "$RESTIC_REPOSITORY" dump "$id" "/$file" >"$part" || { rm -f "$part"; die "restic dump of $file from $id failed"; }
keys=$(rdb_check_keys "$part") || { rm -f "$part"; die "$file of snapshot $id is not a valid RDB"; }
[[ "$keys" == "$expected" ]] || { rm -f "$part"; die "$file holds $keys keys but $expected were recorded at backup time"; }
bytes=$(stat -c %s "$part")
log_throughput "downloaded $file" "$bytes" "$(( $(now_us) - start ))"

aside="$data/pre-restore-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir "$aside"
for entry in dump.rdb "$appenddir"; do
  if [[ -e "$data/$entry" ]]; then mv "$data/$entry" "$aside/"; fi
done
log "the member's previous data is in $aside (delete it once the restored member is verified)"
mv "$part" "$data/dump.rdb"

socket_dir=$(mktemp -d)
socket="$socket_dir/redis.sock"
cleanup() { scratch_redis_stop "$socket"; rm -rf "$socket_dir"; }
trap cleanup EXIT

# The number of keys the server loaded (plus those already expired): must be what was recorded.
check_loaded() {
  local info loaded expired
  info=$(redis-cli -s "$socket" info persistence | tr -d '\r')
  loaded=$(info_field "$info" rdb_last_load_keys_loaded)
  expired=$(info_field "$info" rdb_last_load_keys_expired)
  [[ -n "$loaded" && -n "$expired" ]] || die "the server reported no load counts ($1)"
  (( loaded + expired == expected )) || die "$1: the server loaded $loaded keys ($expired expired) but $expected were recorded at backup time"
  log "$1: $loaded keys loaded, $expired already expired"
}

load_start=$(now_us)
scratch_redis_start "$data" "$socket" dump.rdb --appenddirname "$appenddir" --appendfilename "$appendfile" || die "loading $file failed"
check_loaded "loaded from the RDB"
[[ "$(redis-cli -s "$socket" config set appendonly yes | tr -d '\r')" == OK ]] || die 'CONFIG SET appendonly yes failed'
deadline=$(( $(date +%s) + ${REDIS_LOAD_TIMEOUT_SECONDS:-3600} ))
while :; do
  info=$(redis-cli -s "$socket" info persistence | tr -d '\r')
  [[ "$(info_field "$info" aof_last_bgrewrite_status)" == ok ]] || die "writing the AOF failed; the server's log: $data/dump.rdb.log"
  if [[ "$(info_field "$info" aof_rewrite_in_progress)" == 0 && "$(info_field "$info" aof_rewrite_scheduled)" == 0 \
        && -s "$data/$appenddir/$appendfile.manifest" ]]; then break; fi
  (( $(date +%s) < deadline )) || die 'the AOF rewrite did not finish in time'
  sleep 0.2
done
# SHUTDOWN (not NOSAVE) fsyncs the AOF; `save ''` keeps it from writing another RDB.
scratch_redis_stop "$socket" save
log_throughput "loaded and wrote the AOF" "$bytes" "$(( $(now_us) - load_start ))"

# As the member will start: from the AOF (its base is the restored data set).
scratch_redis_start "$data" "$socket" dump.rdb --appendonly yes --appenddirname "$appenddir" --appendfilename "$appendfile" || die 'the restored AOF does not load'
check_loaded "loaded from the AOF"
scratch_redis_stop "$socket" nosave
rm -f "$data/dump.rdb.log"
log_throughput "restore of $file (snapshot $id)" "$bytes" "$(( $(now_us) - start ))"
