#!/usr/bin/env bash
# Forms the Redis cluster from its members, or checks that it is formed. Safe to run any number of
# times (it runs on every deployment): it never touches a member that holds slots or keys.
#
#   all members empty and alone         -> redis-cli --cluster create (masters + replicas)
#   members met but no slot assigned    -> an interrupted create: reset those empty members, create
#   cluster formed, some members empty  -> the empty ones (a lost volume, more replicas) join it as
#                                          replicas of the masters with the fewest replicas, and the
#                                          identities they had before are forgotten
#   cluster formed, all members in it   -> nothing to change
#   anything else (slots partly assigned, keys outside a cluster, fewer masters than configured)
#                                       -> exit 1 with what was found and the command to inspect it
#
# Environment:
#   REDISCLI_AUTH                   required: the password (redis-cli reads it from here)
#   REDIS_CLUSTER_NODES             required: the members as space-separated host:port
#   REDIS_CLUSTER_REPLICAS          replicas per master (0)
#   REDIS_CLUSTER_TIMEOUT_SECONDS   how long to wait for members and for the cluster state (300)
set -euo pipefail

log() { printf 'cluster-bootstrap: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -n "${REDISCLI_AUTH:-}" ]] || die 'REDISCLI_AUTH is empty: it must come from the Secret named in passwordSecret'
read -r -a members <<<"${REDIS_CLUSTER_NODES:-}"
replicas=${REDIS_CLUSTER_REPLICAS:-0}
timeout=${REDIS_CLUSTER_TIMEOUT_SECONDS:-300}
[[ "$replicas" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_REPLICAS must be an integer >= 0 but \"$replicas\" was provided"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_TIMEOUT_SECONDS must be an integer but \"$timeout\" was provided"
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

wait_for_members() {
  local member answer
  for member in "${members[@]}"; do
    until answer=$(cli "$member" ping) && [[ "$answer" == PONG ]]; do
      (( SECONDS < deadline )) || die "member $member did not answer PING within ${timeout}s (last answer: $answer)"
      sleep 2
    done
  done
  log "all $count members answer"
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
for member in "${members[@]}"; do
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
        'BEGIN { n = split(ids, list, " "); for (i = 1; i <= n; i++) member[list[i]] = 1 } ($1 in member) && $3 !~ /fail|noaddr|handshake/')
      serving=$(awk '$3 ~ /master/ && NF >= 9' <<<"$nodes" | wc -l)
      following=$(awk '$3 ~ /slave/' <<<"$nodes" | wc -l)
      (( serving == masters && following == masters * replicas )) && break
      (( SECONDS < deadline )) \
        || die "member $member sees $serving masters and $following replicas instead of $masters and $((masters * replicas)) after ${timeout}s; inspect with: redis-cli --cluster check $member"
      sleep 1
    done
  done
}

create_cluster() {
  local member address addresses=()
  for member in "${members[@]}"; do
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
wait_for_cluster_ok "$reference"
nodes=$(cli "$reference" cluster nodes)
# Masters that serve slots (a line has slot ranges from field 9 on) and are not failed or suspected.
serving=$(awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9' <<<"$nodes" | wc -l)
(( serving >= masters )) \
  || die "the cluster has $serving masters serving slots but $masters are configured: adding masters needs resharding, done by a person: redis-cli --cluster add-node <new> $reference, then redis-cli --cluster rebalance $reference --cluster-use-empty-masters"
(( serving == masters )) || log "warning: the cluster has $serving masters serving slots, more than the $masters configured"

for member in "${fresh[@]}"; do
  log "$member is empty and alone (a new or replaced member): adding it to the cluster as a replica"
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
    if [[ "$link" == connected && "$flags" != *fail* && "$flags" != *noaddr* ]]; then
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
wait_for_cluster_ok "${members[@]}"
collect_member_ids
forget_departed_nodes
if (( serving == masters )); then wait_for_topology; fi
log "cluster formed: all $count members see cluster_state ok and 16384 slots; ${#fresh[@]} member(s) added"
