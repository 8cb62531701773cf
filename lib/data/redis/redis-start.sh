#!/usr/bin/env bash
# Starts one Redis server: renders its runtime configuration from the environment into a private
# file, then execs redis-server on it.
#
# Why a script: the password comes from a Secret through the environment and must reach
# `requirepass`/`masterauth` without being written into the ConfigMap or shown on the command line
# (`ps`). The rendered file lives in a memory-backed emptyDir and includes the static base
# configuration (persistence, memory, cluster settings) from the ConfigMap.
#
# In cluster mode, a member that is in no cluster yet (no nodes.conf, or one that knows only
# itself: a first start, or a pod that lost its volume) starts holding back full syncs
# (repl-diskless-sync-delay of a year) until the bootstrap Job places it. Reason: when a master
# loses its volume and comes back at the same address, its replica reconnects to that address and
# would otherwise take a full copy of the empty newcomer, flushing the only copy of the data it is
# about to take over. A held-back replica keeps its data and waits (retrying each repl-timeout);
# refusing PSYNC instead (ACL) makes it retry in a tight loop that starves both servers.
#
# In cluster mode (`cluster-enabled yes` in the base configuration) it also repairs nodes.conf
# before the start: every node line whose hostname resolves gets that address, the own line gets
# REDIS_ANNOUNCE_IP. Without this a cluster whose pods all restarted with new IPs never finds
# itself again: Redis gossips addresses, not names, and nobody would know anybody's new address.
#
# Environment:
#   REDIS_PASSWORD                 required: requirepass and masterauth
#   REDIS_BASE_CONFIG              static configuration to include   (/usr/local/etc/redis/redis.conf)
#   REDIS_RUNTIME_CONFIG           file to render                     (/run/redis/redis.conf)
#   REDIS_BIND                     addresses to listen on             (* -::*)
#   REDIS_PORT                     client port                        (6379)
#   REDIS_DATA_DIR                 data directory (AOF, RDB, nodes.conf) (/data)
#   REDIS_CLUSTER_PORT             cluster bus port, cluster mode     (REDIS_PORT + 10000)
#   REDIS_ANNOUNCE_IP              own address in the cluster (the pod IP), cluster mode
#   REDIS_ANNOUNCE_HOSTNAME        own stable DNS name (pod.headless-service), cluster mode
#   REDIS_PEER_DNS_WAIT_SECONDS    how long to wait for peers' names to resolve (30)
#   REDIS_REPLICA_OF               "host port" of the primary: start as its replica (standalone mode)
set -euo pipefail

log() { printf 'redis-start: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -n "${REDIS_PASSWORD:-}" ]] || die 'REDIS_PASSWORD is empty: it must come from the Secret named in passwordSecret'
base_config=${REDIS_BASE_CONFIG:-/usr/local/etc/redis/redis.conf}
runtime_config=${REDIS_RUNTIME_CONFIG:-/run/redis/redis.conf}
bind=${REDIS_BIND:-* -::*}
port=${REDIS_PORT:-6379}
data_dir=${REDIS_DATA_DIR:-/data}
peer_dns_wait=${REDIS_PEER_DNS_WAIT_SECONDS:-30}

[[ -r "$base_config" ]] || die "base configuration $base_config is not readable"
[[ -d "$data_dir" && -w "$data_dir" ]] || die "data directory $data_dir is not writable"

# A value as a double-quoted Redis configuration string (redis.conf is parsed like redis-cli input).
quote() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

cluster_mode=false
if grep -Eqi '^[[:space:]]*cluster-enabled[[:space:]]+yes[[:space:]]*$' "$base_config"; then
  cluster_mode=true
fi

# The first address of a name in the family the cluster uses (that of the own announced IP), or
# nothing when the name does not resolve (yet).
resolve() {
  local family=ahostsv4
  [[ "${REDIS_ANNOUNCE_IP:-}" == *:* ]] && family=ahostsv6
  { getent "$family" "$1" 2>/dev/null || true; } | awk 'NR == 1 { print $1 }'
}

# Rewrites the address of every node line of nodes.conf whose hostname resolves now.
# Line format (Redis 7): <id> <ip>:<port>@<cport>[,<hostname>[,<aux>=<value>...]] <flags> ...
repair_nodes_conf() {
  local nodes_conf=$data_dir/nodes.conf
  [[ -s "$nodes_conf" ]] || return 0

  local -A address=()
  local hostname deadline=$((SECONDS + peer_dns_wait)) unresolved
  local -a hostnames
  mapfile -t hostnames < <(awk '$1 != "vars" && NF >= 3 && $3 !~ /myself/ {
      n = split($2, parts, ","); if (n >= 2 && parts[2] !~ /=/ && parts[2] != "") print parts[2]
    }' "$nodes_conf" | sort -u)
  while :; do
    unresolved=()
    for hostname in "${hostnames[@]}"; do
      [[ -n "${address[$hostname]:-}" ]] && continue
      address[$hostname]=$(resolve "$hostname")
      [[ -n "${address[$hostname]}" ]] || unresolved+=("$hostname")
    done
    [[ ${#unresolved[@]} -eq 0 || $SECONDS -ge $deadline ]] && break
    sleep 1
  done
  if [[ ${#unresolved[@]} -gt 0 ]]; then
    log "peers not resolvable yet, their addresses stay as recorded (gossip updates them when they start): ${unresolved[*]}"
  fi

  local map='' tmp=$nodes_conf.rewrite
  for hostname in "${!address[@]}"; do
    [[ -n "${address[$hostname]}" ]] && map+="$hostname=${address[$hostname]} "
  done
  awk -v map="$map" -v self="${REDIS_ANNOUNCE_IP:-}" '
    BEGIN { n = split(map, pairs, " "); for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); ip[kv[1]] = kv[2] } }
    $1 != "vars" && NF >= 3 {
      split($2, parts, ",")
      endpoint = parts[1]
      colon = 0
      for (i = length(endpoint); i > 0; i--) if (substr(endpoint, i, 1) == ":") { colon = i; break }
      old = substr(endpoint, 1, colon - 1)
      new = ""
      if ($3 ~ /myself/) new = self
      else if (parts[2] in ip) new = ip[parts[2]]
      if (new != "" && new != old) {
        printf "nodes.conf: %s (%s) %s -> %s\n", $1, (parts[2] == "" ? "no hostname" : parts[2]), old, new > "/dev/stderr"
        $2 = new substr($2, colon)
      }
    }
    { print }
  ' "$nodes_conf" >"$tmp"
  # Rewritten only when an address changed: a restart of a healthy member writes nothing.
  if cmp -s "$tmp" "$nodes_conf"; then rm -f "$tmp"; else mv -f "$tmp" "$nodes_conf"; fi
}

# Not in a cluster yet: nodes.conf missing, or listing no node but itself. The value is what
# cluster-bootstrap.sh recognizes (HELD_BACK_SYNC_DELAY there).
HELD_BACK_SYNC_DELAY=31536000
guard_replication=false
if $cluster_mode && ! awk '$1 != "vars" && NF >= 3 { n++ } END { exit !(n > 1) }' "$data_dir/nodes.conf" 2>/dev/null; then
  guard_replication=true
fi

{
  printf '# Rendered by redis-start.sh at container start: do not edit.\n'
  printf 'include %s\n' "$(quote "$base_config")"
  printf 'bind %s\n' "$bind"
  printf 'port %s\n' "$port"
  printf 'dir %s\n' "$(quote "$data_dir")"
  printf 'requirepass %s\n' "$(quote "$REDIS_PASSWORD")"
  printf 'masterauth %s\n' "$(quote "$REDIS_PASSWORD")"
  if $guard_replication; then
    # A diskless full sync starts only after this delay (seconds): never, in practice.
    # cluster-bootstrap.sh sets it back to the default (5) once it has placed this member.
    printf 'repl-diskless-sync yes\nrepl-diskless-sync-delay %s\n' "$HELD_BACK_SYNC_DELAY"
  fi
  if $cluster_mode; then
    printf 'cluster-port %s\n' "${REDIS_CLUSTER_PORT:-$((port + 10000))}"
    [[ -n "${REDIS_ANNOUNCE_IP:-}" ]] && printf 'cluster-announce-ip %s\n' "$REDIS_ANNOUNCE_IP"
    [[ -n "${REDIS_ANNOUNCE_HOSTNAME:-}" ]] && printf 'cluster-announce-hostname %s\n' "$REDIS_ANNOUNCE_HOSTNAME"
  elif [[ -n "${REDIS_REPLICA_OF:-}" ]]; then
    read -r primary_host primary_port extra <<<"$REDIS_REPLICA_OF"
    [[ -n "$primary_host" && "$primary_port" =~ ^[0-9]+$ && -z "$extra" ]] \
      || die "REDIS_REPLICA_OF must be \"host port\" but \"$REDIS_REPLICA_OF\" was provided"
    printf 'replicaof %s %s\n' "$primary_host" "$primary_port"
  fi
} >"$runtime_config.tmp"
chmod 600 "$runtime_config.tmp"
# Replaced only when it changed (a new password, another primary): a restart writes nothing.
if cmp -s "$runtime_config.tmp" "$runtime_config"; then
  rm -f "$runtime_config.tmp"
else
  mv -f "$runtime_config.tmp" "$runtime_config"
fi

if $cluster_mode; then
  repair_nodes_conf
fi

mode=primary
if $guard_replication; then
  mode='cluster member not in a cluster yet (full syncs from it held back until cluster-bootstrap.sh places it)'
elif $cluster_mode; then mode='cluster member'; elif [[ -n "${REDIS_REPLICA_OF:-}" ]]; then mode="replica of $REDIS_REPLICA_OF"; fi
log "starting redis-server on port $port as $mode"
exec redis-server "$runtime_config"
