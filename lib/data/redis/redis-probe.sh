#!/usr/bin/env bash
# Kubernetes exec probe of a Redis server: `redis-probe.sh liveness` or `redis-probe.sh readiness`.
# The password comes from REDISCLI_AUTH (never on the command line); the server is on 127.0.0.1.
#
# liveness:  the server answers PING; LOADING (a long AOF replay) and MASTERDOWN count as alive,
#            so that a restart loop never interrupts a recovery.
# readiness: the server answers PONG and serves correct data: a replica has its link to the
#            primary up; a cluster member sees cluster_state ok AND every one of the 16384 slots
#            owned by a master it can reach (not flagged fail, fail?, noaddr or handshake, address
#            not `:0`). cluster_state alone is not enough: a master that lost its volume and came
#            back at the same address leaves its old identity as `master,noaddr`, which Redis
#            never marks failed, so the state stays ok while a third of the keys answer
#            `MOVED ... :0`. A member that is not in a cluster yet (it knows no other node) is not
#            ready either: it serves no slot. Nothing waits for that: the bootstrap Job reaches the
#            members through the headless Service, which publishes pods before they are ready.
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
      [[ "${known:-1}" -gt 1 ]] || fail 'not part of a cluster yet (knows no other node): the bootstrap Job adds it'
      # Slots of reachable masters, and a description of every master that owns slots but is not
      # reachable. Fields: id address flags master ping pong epoch link slot... ([...] entries are
      # migrations, not ownership).
      coverage=$(cli cluster nodes | awk '
        $3 ~ /master/ {
          n = 0; ranges = ""
          for (i = 9; i <= NF; i++) {
            if ($i ~ /^\[/) continue
            split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1); ranges = ranges " " $i
          }
          if (n == 0) next
          if ($3 ~ /(^|,)(fail\??|noaddr|handshake)(,|$)/ || $2 ~ /^:/) dead = dead sprintf("; %s (%s, %s) owns%s", $1, $2, $3, ranges)
          else served += n
        }
        END { printf "%d%s", served, dead }')
      served=${coverage%%;*}
      [[ "$served" == 16384 ]] || fail "only ${served:-0} of 16384 slots are served by reachable masters${coverage#"$served"}"
      [[ "$state" == ok ]] || fail "cluster state is ${state:-unknown} (${known} known nodes)"
    fi
    exit 0
    ;;
  *)
    fail 'usage: redis-probe.sh liveness|readiness'
    ;;
esac
