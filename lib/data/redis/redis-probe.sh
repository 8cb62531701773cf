#!/usr/bin/env bash
# Kubernetes exec probe of a Redis server: `redis-probe.sh liveness` or `redis-probe.sh readiness`.
# The password comes from REDISCLI_AUTH (never on the command line); the server is on 127.0.0.1.
#
# liveness:  the server answers PING; LOADING (a long AOF replay) and MASTERDOWN count as alive,
#            so that a restart loop never interrupts a recovery.
# readiness: the server answers PONG and can serve: a replica has its link to the primary up;
#            a cluster member that has joined a cluster sees it in state ok. A member that has not
#            joined one yet is ready on PONG, so the pods become ready before the bootstrap Job
#            forms the cluster (nothing that waits for readiness can block the bootstrap).
#
# Environment: REDISCLI_AUTH (required), REDIS_PORT (6379).
set -uo pipefail

mode=${1:-}
port=${REDIS_PORT:-6379}

cli() { redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1 | tr -d '\r'; }
fail() { printf 'redis-probe %s: %s\n' "$mode" "$*" >&2; exit 1; }
# The value of `field` in INFO-style output on stdin.
field() { sed -n "s/^$1://p"; }

pong=$(cli ping)

case "$mode" in
  liveness)
    case "$pong" in
      PONG | LOADING* | MASTERDOWN*) exit 0 ;;
      *) fail "PING answered: $pong" ;;
    esac
    ;;
  readiness)
    [[ "$pong" == PONG ]] || fail "PING answered: $pong"
    replication=$(cli info replication)
    if [[ "$(field role <<<"$replication")" == slave ]]; then
      link=$(field master_link_status <<<"$replication")
      [[ "$link" == up ]] || fail "replica link to its primary is ${link:-unknown}"
    fi
    if [[ "$(cli info cluster | field cluster_enabled)" == 1 ]]; then
      cluster=$(cli cluster info)
      known=$(field cluster_known_nodes <<<"$cluster")
      state=$(field cluster_state <<<"$cluster")
      if [[ "${known:-1}" -gt 1 && "$state" != ok ]]; then
        fail "cluster state is ${state:-unknown} (${known} known nodes)"
      fi
    fi
    exit 0
    ;;
  *)
    fail 'usage: redis-probe.sh liveness|readiness'
    ;;
esac
