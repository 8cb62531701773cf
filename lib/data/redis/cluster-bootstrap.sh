#!/usr/bin/env bash
# Forms the Redis cluster from its members, or checks that it is formed and repairs what it can
# prove. Safe to run any number of times (it runs on every deployment): on a healthy cluster it
# changes and writes nothing, and it never touches a member that holds slots or keys of its own.
#
#   all members empty and alone         -> redis-cli --cluster create (masters + replicas)
#   members met but no slot assigned    -> an interrupted create: reset those empty members, create
#   a master owning slots is unreachable (flagged fail, fail? or noaddr, or address :0), after
#   REDIS_CLUSTER_FAILOVER_WAIT_SECONDS for the cluster to fail it over by itself:
#     - a replica of it answers         -> CLUSTER FAILOVER TAKEOVER on that replica (its data is
#                                          the freshest copy there is)
#     - no replica, but an empty member announces the master's hostname (its pod came back
#       without its volume)             -> the dead identity is forgotten on every member and its
#                                          slots are given to that member; the keys of those slots
#                                          were lost with the volume and the log says which slots
#     - otherwise                       -> exit 1 naming the master, its slots and the command that
#                                          gives them to the remaining masters (the master may come
#                                          back with its data: only a person may decide it won't)
#   cluster formed, some members empty  -> the empty ones (a lost volume, more replicas) join it as
#                                          replicas of the masters with the fewest replicas, and the
#                                          identities they had before are forgotten
#   cluster formed, all members in it   -> nothing to change
# A member that redis-start.sh started outside any cluster holds back full syncs to replicas; the
# script releases that (CONFIG SET repl-diskless-sync-delay 5) when it creates the cluster with it
# or places it.
#   anything else (slots partly assigned, keys outside a cluster, fewer masters than configured)
#                                       -> exit 1 with what was found and the command to inspect it
#
# Members that do not answer within REDIS_CLUSTER_MEMBER_WAIT_SECONDS: a first formation needs all
# of them (exit 1); a formed cluster is repaired with the members that answer (a master lost for
# good must not keep the others down), and nothing is forgotten while a member is missing.
#
# Environment:
#   REDISCLI_AUTH                        required: the password (redis-cli reads it from here)
#   REDIS_CLUSTER_NODES                  required: the members as space-separated host:port
#   REDIS_CLUSTER_REPLICAS               replicas per master (0)
#   REDIS_CLUSTER_TIMEOUT_SECONDS        how long to wait for the cluster state and topology (300)
#   REDIS_CLUSTER_MEMBER_WAIT_SECONDS    how long to wait for every member to answer (120)
#   REDIS_CLUSTER_FAILOVER_WAIT_SECONDS  how long an unreachable master is left to the cluster's own
#                                        failover before the script acts (60: above 2 x
#                                        cluster-node-timeout, so the cluster goes first)
set -euo pipefail

log() { printf 'cluster-bootstrap: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -n "${REDISCLI_AUTH:-}" ]] || die 'REDISCLI_AUTH is empty: it must come from the Secret named in passwordSecret'
read -r -a members <<<"${REDIS_CLUSTER_NODES:-}"
replicas=${REDIS_CLUSTER_REPLICAS:-0}
timeout=${REDIS_CLUSTER_TIMEOUT_SECONDS:-300}
member_wait=${REDIS_CLUSTER_MEMBER_WAIT_SECONDS:-120}
failover_wait=${REDIS_CLUSTER_FAILOVER_WAIT_SECONDS:-60}
[[ "$replicas" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_REPLICAS must be an integer >= 0 but \"$replicas\" was provided"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_TIMEOUT_SECONDS must be an integer but \"$timeout\" was provided"
[[ "$member_wait" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_MEMBER_WAIT_SECONDS must be an integer but \"$member_wait\" was provided"
[[ "$failover_wait" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_FAILOVER_WAIT_SECONDS must be an integer but \"$failover_wait\" was provided"
for member in "${members[@]}"; do
  [[ "$member" =~ ^[^:[:space:]]+:[0-9]+$ ]] || die "REDIS_CLUSTER_NODES entries must be host:port but \"$member\" was provided"
done
count=${#members[@]}
(( count > 0 && count % (replicas + 1) == 0 )) \
  || die "REDIS_CLUSTER_NODES has $count members, which is not a multiple of 1 + REDIS_CLUSTER_REPLICAS ($((replicas + 1)))"
masters=$((count / (replicas + 1)))
(( masters >= 3 )) || die "a Redis cluster needs at least 3 masters but $count members with $replicas replicas each make $masters"
deadline=$((SECONDS + timeout))

# A command on one member; its answer (or the connection error) on stdout, never a failure:
# callers judge the answer.
cli() {
  local member=$1
  shift
  { redis-cli -h "${member%:*}" -p "${member##*:}" "$@" 2>&1 || true; } | tr -d '\r'
}
# The value of `name` in the CLUSTER INFO of a member.
info_field() { cli "$1" cluster info | sed -n "s/^$2://p"; }

# host:port with the host resolved to an address: CLUSTER MEET (inside --cluster create and
# add-node) takes addresses only.
address_of() {
  local host=${1%:*} port=${1##*:} ip
  if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then
    ip=$host
  else
    ip=$({ getent ahostsv4 "$host" || true; } | awk 'NR == 1 { print $1 }')
    [[ -n "$ip" ]] || ip=$({ getent ahostsv6 "$host" || true; } | awk 'NR == 1 { print $1 }')
    [[ -n "$ip" ]] || die "cannot resolve $host"
  fi
  printf '%s:%s' "$ip" "$port"
}

# Waits up to REDIS_CLUSTER_MEMBER_WAIT_SECONDS for every member to answer PING; `up` and `down`
# are the members that did and did not.
up=() down=()
wait_for_members() {
  local member answer member_deadline=$((SECONDS + member_wait))
  for member in "${members[@]}"; do
    until answer=$(cli "$member" ping) && [[ "$answer" == PONG ]]; do
      if (( SECONDS >= member_deadline )); then
        log "member $member did not answer PING within ${member_wait}s (last answer: $answer)"
        down+=("$member")
        continue 2
      fi
      sleep 2
    done
    up+=("$member")
  done
  if (( ${#down[@]} == 0 )); then log "all $count members answer"; else log "${#up[@]} of $count members answer; not answering: ${down[*]}"; fi
  (( ${#up[@]} > 0 )) || die "no member answered PING within ${member_wait}s"
}

# Waits until every given member sees the cluster in state ok with all slots assigned.
wait_for_cluster_ok() {
  local member state assigned
  for member in "$@"; do
    while :; do
      state=$(info_field "$member" cluster_state)
      assigned=$(info_field "$member" cluster_slots_assigned)
      [[ "$state" == ok && "$assigned" == 16384 ]] && break
      (( SECONDS < deadline )) \
        || die "member $member sees cluster_state ${state:-unknown} with ${assigned:-0} of 16384 slots after ${timeout}s; inspect with: redis-cli --cluster check $member"
      sleep 1
    done
  done
}

wait_for_members

declare -A known assigned keys
fresh=() joined=() other=()
for member in "${up[@]}"; do
  enabled=$(cli "$member" info cluster | sed -n 's/^cluster_enabled://p')
  [[ "$enabled" == 1 ]] || die "member $member does not run in cluster mode (cluster-enabled yes is missing from its configuration)"
  known[$member]=$(info_field "$member" cluster_known_nodes)
  assigned[$member]=$(info_field "$member" cluster_slots_assigned)
  keys[$member]=$(cli "$member" dbsize)
  [[ "${known[$member]}" =~ ^[0-9]+$ && "${assigned[$member]}" =~ ^[0-9]+$ && "${keys[$member]}" =~ ^[0-9]+$ ]] \
    || die "unexpected answers from $member: known nodes '${known[$member]}', slots '${assigned[$member]}', keys '${keys[$member]}'"
  if [[ "${assigned[$member]}" == 16384 ]]; then
    joined+=("$member")
  elif [[ "${known[$member]}" == 1 && "${assigned[$member]}" == 0 && "${keys[$member]}" == 0 ]]; then
    fresh+=("$member")
  else
    other+=("$member")
  fi
  log "$member: ${known[$member]} known nodes, ${assigned[$member]} slots assigned, ${keys[$member]} keys"
done

# The node ids of the members now (CLUSTER RESET HARD gives a member a new one).
member_ids=()
collect_member_ids() {
  local member
  member_ids=()
  for member in "${members[@]}"; do member_ids+=("$(cli "$member" cluster myid)"); done
}

# Waits until every member sees the configured shape among the members: `masters` masters serving
# slots and `masters x replicas` replicas (roles reach the others by gossip, a moment after a
# change). Nodes that are no member (a replaced pod's old identity) do not count.
wait_for_topology() {
  local member nodes serving following
  for member in "${members[@]}"; do
    while :; do
      nodes=$(cli "$member" cluster nodes | awk -v ids="${member_ids[*]}" \
        'BEGIN { n = split(ids, list, " "); for (i = 1; i <= n; i++) member[list[i]] = 1 } ($1 in member) && $3 !~ /(^|,)(fail\??|noaddr|handshake)(,|$)/')
      serving=$(awk '$3 ~ /master/ && NF >= 9' <<<"$nodes" | wc -l)
      following=$(awk '$3 ~ /slave/' <<<"$nodes" | wc -l)
      (( serving == masters && following == masters * replicas )) && break
      (( SECONDS < deadline )) \
        || die "member $member sees $serving masters and $following replicas instead of $masters and $((masters * replicas)) after ${timeout}s; inspect with: redis-cli --cluster check $member"
      sleep 1
    done
  done
}

# A member that redis-start.sh started outside any cluster holds back full syncs (so that the
# replicas of a lost identity at its address cannot copy its emptiness); once the member is placed,
# replicas may sync from it. Members without that hold (the value of redis-start.sh) are not touched.
HELD_BACK_SYNC_DELAY=31536000
allow_replication_from() {
  local member=$1 answer
  [[ "$(cli "$member" config get repl-diskless-sync-delay | sed -n 2p)" == "$HELD_BACK_SYNC_DELAY" ]] || return 0
  log "$member: releasing full syncs to replicas (CONFIG SET repl-diskless-sync-delay 5)"
  answer=$(cli "$member" config set repl-diskless-sync-delay 5)
  [[ "$answer" == OK ]] || die "CONFIG SET repl-diskless-sync-delay 5 on $member answered: $answer"
}

create_cluster() {
  local member address addresses=()
  for member in "${members[@]}"; do
    allow_replication_from "$member"
    address=$(address_of "$member")
    addresses+=("$address")
  done
  log "creating the cluster: $masters masters, $replicas replicas each, from ${addresses[*]}"
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$replicas" --cluster-yes \
    || die 'redis-cli --cluster create failed (see above)'
  wait_for_cluster_ok "${members[@]}"
  collect_member_ids
  wait_for_topology
  log "cluster created: $masters masters, $replicas replicas each, 16384 slots"
}

if [[ ${#joined[@]} -eq 0 ]]; then
  (( ${#down[@]} == 0 )) \
    || die "no member sees a formed cluster and ${down[*]} did not answer: forming the cluster needs every member"
  for member in "${members[@]}"; do
    if (( ${assigned[$member]} > 0 )); then
      die "no member sees all 16384 slots but $member has ${assigned[$member]} assigned: a cluster is partly formed and needs a person; inspect with: redis-cli --cluster check $member, repair with: redis-cli --cluster fix $member"
    fi
    if (( ${keys[$member]} > 0 )); then
      die "$member holds ${keys[$member]} keys but is not part of a cluster: refusing to create a cluster over data; inspect with: redis-cli -h ${member%:*} -p ${member##*:} dbsize"
    fi
  done
  # Members that met others but own no slot and no key: a create that stopped half-way. Forgetting
  # what they met is safe and lets the create start from a clean state.
  for member in "${other[@]}"; do
    log "$member knows ${known[$member]} nodes but owns no slot and no key (an interrupted create): CLUSTER RESET HARD"
    [[ "$(cli "$member" cluster reset hard)" == OK ]] || die "CLUSTER RESET HARD on $member failed"
  done
  create_cluster
  exit 0
fi

for member in "${other[@]}"; do
  if [[ "${known[$member]}" == 1 ]]; then
    die "$member holds ${keys[$member]} keys and ${assigned[$member]} slots but knows no other node (its nodes.conf was lost?): it cannot join the cluster by itself and needs a person; inspect with: redis-cli --cluster check ${joined[0]}"
  fi
done

reference=${joined[0]}

# The field of the own line (`myself`) in a member's CLUSTER NODES: 1 id, 2 address, 3 flags, 4 master id.
own_field() { cli "$1" cluster nodes | awk -v f="$2" '$3 ~ /myself/ { print $f }'; }
# The hostname in an address field `ip:port@cport,hostname[,aux...]` (nothing when none is announced).
hostname_of() { local rest=${1#*,}; [[ "$rest" == "$1" ]] && return 0; printf '%s' "${rest%%,*}"; }

# Masters that own slots and cannot serve them, as the reference sees them: flagged, without an
# address, or not connected (right after a full restart a master that never came back is not
# flagged yet, and the cluster state is still ok). `id address flags slot-range...` per line
# ([...] migration entries dropped).
dead_masters() {
  cli "$reference" cluster nodes | awk '
    $3 ~ /master/ && $3 !~ /myself/ && ($3 ~ /(^|,)(fail\??|noaddr)(,|$)/ || $2 ~ /^:/ || $8 != "connected") {
      ranges = ""
      for (i = 9; i <= NF; i++) if ($i !~ /^\[/) ranges = ranges " " $i
      if (ranges != "") print $1, $2, $3 ranges
    }'
}

# A replica among the answering members that follows `id`.
replica_of() {
  local member
  for member in "${up[@]}"; do
    if [[ "$(own_field "$member" 3)" == *slave* && "$(own_field "$member" 4)" == "$1" ]]; then
      printf '%s' "$member"
      return 0
    fi
  done
}

# An empty member that announces `hostname`: the dead master's pod, back without its volume.
replacement_for() {
  local member
  [[ -n "$1" ]] || return 0
  for member in "${fresh[@]}"; do
    if [[ "$(hostname_of "$(own_field "$member" 2)")" == "$1" ]]; then
      printf '%s' "$member"
      return 0
    fi
  done
}

promote() {
  local id=$1 address=$2 flags=$3 slots=$4 replica=$5 answer
  log "master $id ($address, $flags) owns slots $slots and is unreachable: promoting its replica $replica with CLUSTER FAILOVER TAKEOVER"
  answer=$(cli "$replica" cluster failover takeover)
  [[ "$answer" == OK ]] || die "CLUSTER FAILOVER TAKEOVER on $replica answered: $answer"
  until [[ "$(own_field "$replica" 3)" == *master* ]]; do
    (( SECONDS < deadline )) || die "$replica did not become a master within ${timeout}s after CLUSTER FAILOVER TAKEOVER"
    sleep 1
  done
}

# Gives the slots of a dead master without replica to the empty member that came back under its
# hostname: forget the dead identity everywhere (CLUSTER FORGET keeps it from coming back by gossip
# for a minute, so it must reach every member), assign its slots to the empty member, let it meet
# the cluster. The keys of those slots were on the lost volume: they are gone.
reassign() {
  local id=$1 address=$2 flags=$3 slots=$4 target=$5 member answer range bus own_address target_address
  log "master $id ($address, $flags) owns slots $slots and no replica can take over, and $target came back empty under its hostname (its volume was lost): forgetting $id on every member and giving its slots to $target"
  log "warning: the keys of slots $slots were lost with the volume of $id"
  for member in "${up[@]}"; do
    [[ "$member" == "$target" ]] && continue
    answer=$(cli "$member" cluster forget "$id")
    [[ "$answer" == OK || "$answer" == *"Unknown node"* ]] || die "CLUSTER FORGET $id on $member answered: $answer"
  done
  allow_replication_from "$target"
  for range in $slots; do
    answer=$(cli "$target" cluster addslotsrange "${range%-*}" "${range#*-}")
    [[ "$answer" == OK ]] || die "CLUSTER ADDSLOTSRANGE $range on $target answered: $answer"
  done
  own_address=$(own_field "$target" 2)
  bus=${own_address#*@}
  bus=${bus%%,*}
  target_address=$(address_of "$target")
  answer=$(cli "$reference" cluster meet "${target_address%:*}" "${target_address##*:}" "$bus")
  [[ "$answer" == OK ]] || die "CLUSTER MEET $target_address $bus on $reference answered: $answer"
  local remaining=()
  for member in "${fresh[@]}"; do [[ "$member" == "$target" ]] || remaining+=("$member"); done
  fresh=("${remaining[@]}")
  joined+=("$target")
}

# Unreachable masters: first left to the cluster (a replica fails over by itself, a restarting
# master comes back), then promoted, reassigned or refused.
heal_dead_masters() {
  local failover_deadline=$((SECONDS + failover_wait)) dead id address flags slots replica target
  while :; do
    dead=$(dead_masters)
    [[ -n "$dead" ]] || return 0
    # noaddr: its address answers with another identity. Redis never fails such a node over by itself.
    awk '$3 !~ /(^|,)noaddr(,|$)/' <<<"$dead" | grep -q . || break
    (( SECONDS < failover_deadline )) || break
    sleep 1
  done
  while read -r id address flags slots; do
    replica=$(replica_of "$id")
    if [[ -n "$replica" ]]; then
      promote "$id" "$address" "$flags" "$slots" "$replica"
      continue
    fi
    target=$(replacement_for "$(hostname_of "$address")")
    if [[ -n "$target" && ${#down[@]} -eq 0 ]]; then
      reassign "$id" "$address" "$flags" "$slots" "$target"
      continue
    fi
    die "master $id ($address, $flags) owns slots $slots, is unreachable (left ${failover_wait}s to the cluster's own failover) and no replica can take over. Bring it back with its volume; if its data is lost for good, give its slots to the other masters (the keys of those slots are lost): redis-cli --cluster fix $reference --cluster-fix-with-unreachable-masters"
  done <<<"$dead"
}

heal_dead_masters
wait_for_cluster_ok "$reference"
nodes=$(cli "$reference" cluster nodes)
# Masters that serve slots (a line has slot ranges from field 9 on) and are not failed or suspected.
serving=$(awk '$3 ~ /master/ && $3 !~ /(^|,)(fail\??|noaddr)(,|$)/ && NF >= 9' <<<"$nodes" | wc -l)
(( serving >= masters )) \
  || die "the cluster has $serving masters serving slots but $masters are configured: adding masters needs resharding, done by a person: redis-cli --cluster add-node <new> $reference, then redis-cli --cluster rebalance $reference --cluster-use-empty-masters"
(( serving == masters )) || log "warning: the cluster has $serving masters serving slots, more than the $masters configured"

for member in "${fresh[@]}"; do
  log "$member is empty and alone (a new or replaced member): adding it to the cluster as a replica"
  allow_replication_from "$member"
  new_address=$(address_of "$member")
  reference_address=$(address_of "$reference")
  redis-cli --cluster add-node "$new_address" "$reference_address" --cluster-slave \
    || die "redis-cli --cluster add-node $member failed (see above)"
done

# Nodes the cluster still lists that no member is: the old identities of pods that came back
# empty, or of removed pods. Every member answered, so such a node can never come back; it is
# forgotten on every member (CLUSTER FORGET must reach all within a minute) unless it serves slots
# or is still alive, which needs a person.
forget_departed_nodes() {
  local id address flags link slots member answer
  while read -r id address flags _ _ _ _ link slots; do
    [[ -n "$id" && " ${member_ids[*]} " != *" $id "* ]] || continue
    if [[ -n "$slots" ]]; then
      log "warning: node $id ($address) is no member but serves slots $slots: leaving it; inspect with: redis-cli --cluster check $reference"
      continue
    fi
    if [[ "$link" == connected && ! ",$flags," =~ ,(fail\??|noaddr), ]]; then
      log "warning: node $id ($address) is no member but is alive: leaving it"
      continue
    fi
    log "forgetting node $id ($address, $flags): no member has that identity any more (a pod replaced or removed)"
    for member in "${members[@]}"; do
      answer=$(cli "$member" cluster forget "$id")
      [[ "$answer" == OK || "$answer" == *"Unknown node"* ]] || log "warning: CLUSTER FORGET $id on $member answered: $answer"
    done
  done <<<"$(cli "$reference" cluster nodes)"
}

# Members that are neither empty nor see the whole cluster yet (still converging after a restart)
# get the rest of the timeout to catch up.
wait_for_cluster_ok "${up[@]}"
if (( ${#down[@]} > 0 )); then
  # A missing member's identity is unknown: forgetting "departed" nodes could forget it.
  log "warning: the cluster serves all 16384 slots with ${#up[@]} of $count members; not answering: ${down[*]} (each rejoins from its nodes.conf when it comes back; one that comes back empty is added by the next run)"
  exit 0
fi
collect_member_ids
forget_departed_nodes
if (( serving == masters )); then wait_for_topology; fi
log "cluster formed: all $count members see cluster_state ok and 16384 slots; ${#fresh[@]} member(s) added"
