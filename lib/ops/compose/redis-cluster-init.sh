#!/bin/sh
# Makes the single Redis of a local docker compose stack a one-node cluster: the application runs
# with REDIS_CLUSTER=true as in the cluster, and a cluster client refuses a server that is not in
# cluster mode or has no slot. Gives the node all 16384 slots once, then waits for
# cluster_state:ok. Safe to run again: a node that has every slot is left as it is; one with only
# some (not something this script leaves behind) is reported, not repaired.
#
# Environment: REDIS_HOST, REDIS_PORT (default 6379), REDISCLI_AUTH (the password),
# WAIT_SECONDS (default 60).
set -eu
host="${REDIS_HOST:?REDIS_HOST is not set}"
port="${REDIS_PORT:-6379}"
wait_seconds="${WAIT_SECONDS:-60}"

cli() { redis-cli -h "$host" -p "$port" "$@"; }
# redis-cli exits 0 on an error reply: the field is read from the output instead.
field() { cli cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$1://p"; }

deadline=$(($(date +%s) + wait_seconds))
until [ "$(cli ping 2>/dev/null)" = PONG ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "redis-cluster-init: $host:$port did not answer PING in ${wait_seconds}s" >&2; exit 1; }
  sleep 1
done
enabled="$(cli info cluster | tr -d '\r' | sed -n 's/^cluster_enabled://p')"
[ "$enabled" = 1 ] || { echo "redis-cluster-init: $host:$port does not run in cluster mode (cluster-enabled yes)" >&2; exit 1; }

assigned="$(field cluster_slots_assigned)"
case "$assigned" in
  16384) echo "redis-cluster-init: $host:$port has every slot already" ;;
  0)
    reply="$(cli cluster addslotsrange 0 16383)"
    [ "$reply" = OK ] || { echo "redis-cluster-init: CLUSTER ADDSLOTSRANGE 0 16383 answered: $reply" >&2; exit 1; }
    echo "redis-cluster-init: gave $host:$port slots 0-16383" ;;
  *) echo "redis-cluster-init: $host:$port has $assigned of 16384 slots; not a state this script makes: remove the redis volume to start over" >&2; exit 1 ;;
esac

until [ "$(field cluster_state)" = ok ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "redis-cluster-init: cluster_state of $host:$port is not ok after ${wait_seconds}s" >&2; exit 1; }
  sleep 1
done
echo "redis-cluster-init: cluster_state ok"
