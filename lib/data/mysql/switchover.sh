#!/bin/bash
# Planned switchover of the MySql construct: the replica `--to` becomes the primary, the write
# Service `<name>-primary` follows it, every other server (the old primary included) replicates
# from it, and the old primary is read-only. Run by a person from a workstation with kubectl access
# to the namespace (README, runbook "Database switchover (MySQL)"):
#
#   bash lib/data/mysql/switchover.sh --namespace <ns> [--name mysql] [--to <pod>] [--context <ctx>]
#        [--timeout <seconds>] [--source-host <host>] [--source-port <port>] [--dry-run]
#
# It acts through kubectl only: SQL runs in the pods' `mysql` container with `kubectl exec`,
# through the pod's own client.sh (root's password from the container's environment, passed to the
# client in a pipe: never on a command line); the Service and a NetworkPolicy are changed with
# `kubectl patch` / `kubectl apply`.
#
#   1. checks: the current primary is the pod the Service selects (`<name>-primary-0` unless an
#      earlier switchover pinned another) and is writable; `--to` (default `<name>-replica-0`, or
#      `<name>-primary-0` to switch back) replicates from it with both threads running;
#   2. stops writes on the old primary (MySQL: SET PERSIST super_read_only = ON, kept across
#      restarts; MariaDB: SET GLOBAL read_only = ON) and kills the application's sessions, so that
#      pooled connections reconnect through the Service;
#   3. reads the old primary's GTID set and waits until `--to` has executed all of it (MySQL:
#      WAIT_FOR_EXECUTED_GTID_SET; MariaDB: MASTER_GTID_WAIT). If it has not within --timeout,
#      writes are allowed again on the old primary and the switchover stops (exit 1);
#   4. stops replication on `--to`, forgets its source (RESET REPLICA ALL) and makes it writable
#      (for the running server only: a replica pod's restart makes it read-only again, see below);
#   5. lets the store's pods replicate from each other (NetworkPolicy `<name>-switchover`: the
#      declared policies let replicas reach only the primary's pod) and points the Service
#      `<name>-primary` at `--to` (selector `statefulset.kubernetes.io/pod-name`, with
#      publishNotReadyAddresses: a replica pod's readiness probe wants it read-only and replicating);
#      switching back to `<name>-primary-0` restores the declared Service and deletes the policy;
#   6. points every other server, the old primary included, at `--source-host:--source-port`
#      (default: the write Service `<name>-primary:3306`, which now reaches `--to`; the address the
#      pods' replication.sh expects, so their next start changes nothing) with GTID positioning, and
#      waits until each replicates from `--to` (its source's server id), re-connecting one that
#      reached the old primary through a stale Service route.
#
# --dry-run runs the checks (queries only) and prints every command that would change something,
# without running it.
#
# Flavours: production runs MySQL 8.0; the tests run MariaDB 10.11. Statements that differ are in
# functions named after the flavour (mysql_*, mariadb_*), chosen by the old primary's VERSION().
set -euo pipefail

usage() {
  printf 'usage: bash switchover.sh --namespace <ns> [--name mysql] [--to <pod>] [--context <ctx>]\n         [--timeout <seconds>] [--source-host <host>] [--source-port <port>] [--dry-run]\n' >&2
  exit 2
}

namespace='' name=mysql to='' context='' dry_run='' timeout=120 source_host='' source_port=3306
while (($#)); do
  case $1 in
    --namespace | -n) namespace=${2:-} && shift ;;
    --name) name=${2:-} && shift ;;
    --to) to=${2:-} && shift ;;
    --context) context=${2:-} && shift ;;
    --timeout) timeout=${2:-} && shift ;;
    --source-host) source_host=${2:-} && shift ;;
    --source-port) source_port=${2:-} && shift ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage ;;
    *) printf 'switchover: unknown argument %s\n' "$1" >&2 && usage ;;
  esac
  shift
done

LOG_PREFIX=switchover
# shellcheck source=lib/ops/scripts/kubectl-change.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ops/scripts/kubectl-change.sh"

[[ -n $namespace ]] || die '--namespace is required'
[[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "--name must be the construct's name (a DNS label) but '$name' was provided"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds but '$timeout' was provided"
[[ $source_port =~ ^[0-9]+$ ]] || die "--source-port must be a port number but '$source_port' was provided"
primary_set="$name-primary"
replica_set="$name-replica"
declared_primary="$primary_set-0"
service="$primary_set"
source_host=${source_host:-$service}
# Where the pods mount the scripts ConfigMap (mysql-config.ts SCRIPTS_DIR).
client="/opt/mysql-scripts/client.sh"

# SQL in pod $1 as root on its own server, statements on stdin, client options after the pod.
# shellcheck disable=SC2016 # expanded in the pod
LOCAL_SQL=(bash -c 'source "$0" && local_sql "$@"' "$client")
sql() {
  local pod=$1
  shift
  k exec -i "$pod" -c mysql -- "${LOCAL_SQL[@]}" "$@"
}
sql_change() {
  local pod=$1
  shift
  change exec -i "$pod" -c mysql -- "${LOCAL_SQL[@]}" "$@"
}
# SHOW REPLICA STATUS of pod $1 as `Field: value` lines (client.sh's replica_status).
# shellcheck disable=SC2016 # expanded in the pod
status_of() { k exec "$1" -c mysql -- bash -c 'source "$0" && replica_status' "$client" </dev/null; }
# The value of the first field named one of $2 (an alternation: MySQL and MariaDB spell them apart).
status_field() { sed -n -E "/^ *($2):/{s/^ *($2): ?(.*)$/\\2/p;q;}" <<<"$1"; }
sql_string() { local value=${1//\\/\\\\}; printf "'%s'" "${value//\'/\\\'}"; }

# --- MySQL 8.0 only (tested with recording stand-ins for the clients) -------------------------

# Persisted: the old primary stays read-only when it restarts.
mysql_stop_writes() { printf 'SET PERSIST super_read_only = ON;\n'; }
# $1 persist: the declared primary's own state again (undo, or a switch back); running: this start only.
mysql_allow_writes() {
  if [[ $1 == persist ]]; then printf 'RESET PERSIST IF EXISTS super_read_only;\n'; fi
  printf 'SET GLOBAL super_read_only = OFF;\nSET GLOBAL read_only = OFF;\n'
}
mysql_gtid_position() { printf 'SELECT @@GLOBAL.gtid_executed;\n'; }
mysql_wait_for_gtids() { printf "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %d);\n" "$(sql_string "$1")" "$2"; }
# Auto-positioning uses gtid_executed, which a former primary has complete.
mysql_prepare_former_primary() { :; }
# What replication.sh's mysql_change_source says, built in the pod from its environment.
# shellcheck disable=SC2016 # expanded in the pod
MYSQL_CHANGE_SOURCE='printf "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%d, SOURCE_USER=%s, SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;\n" "$(sql_string "$1")" "$2" "$(sql_string "${MYSQL_REPLICATION_USER:-replicator}")" "$(sql_string "$MYSQL_REPLICATION_PASSWORD")"'

# --- MariaDB 10.11 equivalents (tested against real servers) ----------------------------------

# Not persisted (MariaDB has no SET PERSIST): see the runbook for a restart of the old primary.
mariadb_stop_writes() { printf 'SET GLOBAL read_only = ON;\n'; }
mariadb_allow_writes() { printf 'SET GLOBAL read_only = OFF;\n'; }
mariadb_gtid_position() { printf 'SELECT @@GLOBAL.gtid_binlog_pos;\n'; }
mariadb_wait_for_gtids() { printf "SELECT MASTER_GTID_WAIT(%s, %d);\n" "$(sql_string "$1")" "$2"; }
# slave_pos of a former primary is empty or old: its own binary log says where it is.
mariadb_prepare_former_primary() { printf 'SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;\n'; }
# shellcheck disable=SC2016 # expanded in the pod
MARIADB_CHANGE_SOURCE='printf "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=10;\n" "$(sql_string "$1")" "$2" "$(sql_string "${MYSQL_REPLICATION_USER:-replicator}")" "$(sql_string "$MYSQL_REPLICATION_PASSWORD")"'

# --- 1. checks ------------------------------------------------------------------------------------
from=$(k get service "$service" -o jsonpath='{.spec.selector.statefulset\.kubernetes\.io/pod-name}')
from=${from:-$declared_primary}
if [[ -z $to ]]; then
  if [[ $from == "$declared_primary" ]]; then to="$replica_set-0"; else to=$declared_primary; fi
fi
replicas=$(k get statefulset "$replica_set" -o jsonpath='{.spec.replicas}')
[[ $replicas =~ ^[0-9]+$ ]] || die "cannot read the replicas of StatefulSet $replica_set (got '$replicas')"
members=("$declared_primary")
for ((i = 0; i < replicas; i++)); do members+=("$replica_set-$i"); done
[[ " ${members[*]} " == *" $to "* ]] || die "--to must be one of ${members[*]} but '$to' was provided"
[[ $to != "$from" ]] || die "$to is already the primary (the Service $service selects it)"

version=$(sql "$from" <<<'SELECT VERSION()')
if [[ $version == *MariaDB* ]]; then flavour=mariadb; else flavour=mysql; fi
from_state=$(sql "$from" <<<'SELECT @@GLOBAL.read_only, @@GLOBAL.server_id')
read -r from_read_only from_id <<<"$from_state"
[[ $from_read_only == 0 ]] || die "$from, the pod the Service $service selects, is read-only: it is not a primary (an earlier switchover stopped half-way? see the runbook)"
status=$(status_of "$to")
io=$(status_field "$status" 'Replica_IO_Running|Slave_IO_Running')
sql_thread=$(status_field "$status" 'Replica_SQL_Running|Slave_SQL_Running')
source_id=$(status_field "$status" 'Source_Server_Id|Master_Server_Id')
[[ $io == Yes && $sql_thread == Yes ]] || die "$to must replicate with both threads running, but I/O is '${io:-not configured}' and SQL '${sql_thread:-not configured}'"
[[ $source_id == "$from_id" ]] || die "$to replicates from server id $source_id, not from $from (server id $from_id)"
others=()
for member in "${members[@]}"; do [[ $member == "$to" ]] || others+=("$member"); done
log "checks passed ($version): $from (server id $from_id) is the primary, $to replicates from it; re-attached afterwards: ${others[*]}"

# --- 2. stop writes on the old primary ------------------------------------------------------------
allow_writes_again() {
  log "allowing writes on $from again"
  "${flavour}_allow_writes" persist | sql_change "$from" >/dev/null
}
log "stopping writes on $from and ending the application's sessions"
"${flavour}_stop_writes" | sql_change "$from" >/dev/null
# Every session but the server's own, root's (this script, the exporter) and replicas' dumps.
sessions=$(sql "$from" <<<"SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND user NOT IN ('system user', 'event_scheduler', 'root') AND command NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')")
if [[ -n $sessions ]]; then
  # --force: a session that ended meanwhile is no reason to stop.
  while read -r id; do printf 'KILL CONNECTION %d;\n' "$id"; done <<<"$sessions" | sql_change "$from" --force >/dev/null 2>&1 || true
fi

# --- 3. wait for every GTID -----------------------------------------------------------------------
gtids=$("${flavour}_gtid_position" | sql "$from" | tr -d '\n')
log "waiting up to ${timeout}s for $to to execute $from's GTIDs ${gtids:-(none)}"
if [[ -n $dry_run ]]; then
  log "would wait: $("${flavour}_wait_for_gtids" "$gtids" "$timeout")"
else
  waited=$("${flavour}_wait_for_gtids" "$gtids" "$timeout" | sql "$to" --connect-timeout=10) || waited="failed"
  if [[ $waited != 0 ]]; then
    allow_writes_again
    die "$to did not execute every GTID of $from within ${timeout}s (answer: $waited): nothing was switched over, $from takes writes again"
  fi
  log "$to has executed every transaction $from committed"
fi

# --- 4. promote -------------------------------------------------------------------------------------
log "promoting $to: replication stopped and forgotten, writable"
if [[ $to == "$declared_primary" ]]; then persistence=persist; else persistence=running; fi
{
  printf 'STOP REPLICA;\nRESET REPLICA ALL;\n'
  "${flavour}_allow_writes" "$persistence"
} | sql_change "$to" >/dev/null
to_id=$(sql "$to" <<<'SELECT @@GLOBAL.server_id')

# --- 5. network and Service -------------------------------------------------------------------------
if [[ $to == "$declared_primary" ]]; then
  log "pointing the Service $service back at $declared_primary (its declared selector)"
  change patch service "$service" --type merge \
    -p "{\"spec\":{\"selector\":{\"app.kubernetes.io/name\":\"$primary_set\",\"statefulset.kubernetes.io/pod-name\":null},\"publishNotReadyAddresses\":null}}" </dev/null >/dev/null
  change delete networkpolicy "$name-switchover" --ignore-not-found </dev/null >/dev/null
else
  change apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: $name-switchover
  labels:
    app.kubernetes.io/part-of: $name-switchover
spec:
  # Added by switchover.sh: every server replicates from a replica pod. Deleted by the switch back.
  podSelector:
    matchExpressions:
      - { key: app.kubernetes.io/name, operator: In, values: [$primary_set, $replica_set] }
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchExpressions:
              - { key: app.kubernetes.io/name, operator: In, values: [$primary_set, $replica_set] }
      ports:
        - { port: 3306, protocol: TCP }
  egress:
    - to:
        - podSelector:
            matchExpressions:
              - { key: app.kubernetes.io/name, operator: In, values: [$primary_set, $replica_set] }
      ports:
        - { port: 3306, protocol: TCP }
YAML
  log "pointing the Service $service at $to"
  change patch service "$service" --type merge \
    -p "{\"spec\":{\"selector\":{\"app.kubernetes.io/name\":\"${to%-*}\",\"statefulset.kubernetes.io/pod-name\":\"$to\"},\"publishNotReadyAddresses\":true}}" </dev/null >/dev/null
fi

# --- 6. re-attach the others ------------------------------------------------------------------------
if [[ $flavour == mariadb ]]; then change_source=$MARIADB_CHANGE_SOURCE; else change_source=$MYSQL_CHANGE_SOURCE; fi
# Points pod $1 at the new primary through --source-host and starts replication.
attach() {
  local pod=$1 configured
  configured=$(status_field "$(status_of "$pod")" 'Source_Host|Master_Host')
  if [[ -n $configured ]]; then sql_change "$pod" <<<'STOP REPLICA;' >/dev/null; fi
  if [[ $pod == "$from" && -n $("${flavour}_prepare_former_primary") ]]; then "${flavour}_prepare_former_primary" | sql_change "$pod" >/dev/null; fi
  # shellcheck disable=SC2016 # expanded in the pod
  change exec "$pod" -c mysql -- bash -c "source \"\$0\" && { $change_source; } | local_sql" "$client" "$source_host" "$source_port" </dev/null >/dev/null
  sql_change "$pod" <<<'START REPLICA;' >/dev/null
}
for pod in "${others[@]}"; do
  log "re-attaching $pod to $source_host:$source_port"
  attach "$pod"
done
[[ -z $dry_run ]] || exit 0

failed=()
for pod in "${others[@]}"; do
  deadline=$((SECONDS + timeout))
  while :; do
    status=$(status_of "$pod")
    io=$(status_field "$status" 'Replica_IO_Running|Slave_IO_Running')
    sql_thread=$(status_field "$status" 'Replica_SQL_Running|Slave_SQL_Running')
    source_id=$(status_field "$status" 'Source_Server_Id|Master_Server_Id')
    if [[ $io == Yes && $sql_thread == Yes && $source_id == "$to_id" ]]; then
      log "$pod replicates from $to"
      break
    fi
    if ((SECONDS >= deadline)); then
      log "warning: $pod does not replicate from $to after ${timeout}s: I/O '$io', SQL '$sql_thread', source server id '$source_id', last I/O error: $(status_field "$status" Last_IO_Error), last SQL error: $(status_field "$status" Last_SQL_Error)"
      failed+=("$pod")
      break
    fi
    if [[ $io == Yes && -n $source_id && $source_id != "$to_id" ]]; then
      # Connected through a Service route that still led to the old primary: connect again.
      log "$pod reached server id $source_id, not $to: reconnecting"
      sql "$pod" <<<$'STOP REPLICA;\nSTART REPLICA;' >/dev/null
    fi
    sleep 1
  done
done
[[ $(sql "$from" <<<'SELECT @@GLOBAL.read_only') == 1 ]] || die "$from is not read-only any more"
((${#failed[@]} == 0)) || die "$to is the primary behind the Service $service, but ${failed[*]} do not replicate from it (see the warnings above)"
log "done: $to is the primary behind the Service $service; ${others[*]} replicate from it; $from is read-only"
