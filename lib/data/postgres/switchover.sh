#!/usr/bin/env bash
# Planned switchover of the Postgres construct: the standby pod `--to` becomes the primary, the
# read-write Service follows it, and the old primary is fenced. Run by a person from a workstation
# with kubectl access to the namespace (README, runbook "Database switchover (PostgreSQL)"):
#
#   bash lib/data/postgres/switchover.sh --namespace <ns> [--name postgres] [--to <standby pod>]
#        [--context <ctx>] [--timeout <seconds>] [--max-lag-bytes <bytes>] [--dry-run]
#
# It acts through kubectl only: SQL runs in the pods' `postgres` container with `kubectl exec`
# (psql over the pod's socket as POSTGRES_USER, peer authentication: no password anywhere), and the
# Services and NetworkPolicies are changed with `kubectl patch` / `kubectl apply`.
#
#   1. checks: the Service still selects the declared primary `<name>-0`, which is out of recovery;
#      `--to` (default `<name>-standby-0`) is in recovery, its WAL receiver streams, and it is at
#      most --max-lag-bytes behind;
#   2. stops writes on the old primary: `ALTER SYSTEM SET default_transaction_read_only = on`, a
#      reload, then every client session is terminated (pooled connections reconnect, read-only).
#      ALTER SYSTEM writes postgresql.auto.conf, so the server stays read-only across restarts;
#   3. waits until `--to` has replayed the old primary's last flushed WAL (every committed
#      transaction). If it does not within --timeout, writes are allowed again on the old primary
#      and the switchover stops (exit 1): nothing else has changed. Then the other standbys are cut
#      off the old primary (WAL senders ended, slots dropped there), and `--to` catches up once
#      more, so that none of them has replayed WAL that `--to` lacks (they could not follow it);
#   4. promotes `--to` (pg_promote) and creates on it the replication slots of the other standbys;
#   5. lets the store's pods reach each other (NetworkPolicy `<name>-switchover`: the declared
#      policies let standbys reach only the primary's pods), points the Service `<name>` at the
#      new primary only (selector `statefulset.kubernetes.io/pod-name`), with
#      publishNotReadyAddresses, because the promoted pod's readiness probe is the standby's and now
#      reports "promoted";
#   6. waits for the other standbys to stream from the new primary: they reconnect through the
#      Service (recovery_target_timeline is `latest`: they follow the new timeline); a warning, not
#      a failure, if one does not.
#
# Afterwards (see the runbook): the old primary stays up, read-only, and its next start is refused
# by primary-init.sh because a standby answers on a newer timeline (split-brain fence); the promoted
# pod must not restart (standby-init.sh refuses a promoted data directory) until the declared
# topology is restored. Argo CD's self-heal would revert the Service: turn it off first.
#
# --dry-run runs the checks (queries only) and prints every command that would change something,
# without running it.
set -euo pipefail

usage() {
  printf 'usage: bash switchover.sh --namespace <ns> [--name postgres] [--to <standby pod>] [--context <ctx>]\n         [--timeout <seconds>] [--max-lag-bytes <bytes>] [--dry-run]\n' >&2
  exit 2
}

namespace='' name=postgres to='' context='' dry_run='' timeout=120 max_lag=16777216
while (($#)); do
  case $1 in
    --namespace | -n) namespace=${2:-} && shift ;;
    --name) name=${2:-} && shift ;;
    --to) to=${2:-} && shift ;;
    --context) context=${2:-} && shift ;;
    --timeout) timeout=${2:-} && shift ;;
    --max-lag-bytes) max_lag=${2:-} && shift ;;
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
[[ $max_lag =~ ^[0-9]+$ ]] || die "--max-lag-bytes must be a number of bytes but '$max_lag' was provided"
from="$name-0"
standby_set="$name-standby"
to=${to:-$standby_set-0}
[[ $to =~ ^$standby_set-[0-9]+$ ]] || die "--to must be a pod of the StatefulSet $standby_set (such as $standby_set-0) but '$to' was provided"


# psql in pod $1 as its superuser over the pod's socket (peer authentication); statements on stdin.
# shellcheck disable=SC2016 # expanded in the pod, from its environment
PSQL=(bash -c 'exec psql -X -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres')
query() { k exec -i "$1" -c postgres -- "${PSQL[@]}"; }
query_change() {
  local pod=$1
  change exec -i "$pod" -c postgres -- "${PSQL[@]}"
}

# A SQL string literal.
literal() { printf "'%s'" "${1//\'/\'\'}"; }
slot_of() { printf '%s' "${1//-/_}"; }

# --- 1. checks ------------------------------------------------------------------------------------
pinned=$(k get service "$name" -o jsonpath='{.spec.selector.statefulset\.kubernetes\.io/pod-name}')
if [[ -n $pinned ]]; then
  die "the Service $name already selects the pod $pinned: a switchover took place; restore the declared topology first (runbook: Database switchover (PostgreSQL), returning)"
fi
standbys=$(k get statefulset "$standby_set" -o jsonpath='{.spec.replicas}')
[[ $standbys =~ ^[0-9]+$ ]] || die "cannot read the replicas of StatefulSet $standby_set (got '$standbys')"
((${to##*-} < standbys)) || die "$to is not a pod of $standby_set, which has $standbys"
others=()
for ((i = 0; i < standbys; i++)); do
  [[ $standby_set-$i == "$to" ]] || others+=("$standby_set-$i")
done

[[ $(query "$from" <<<'SELECT pg_is_in_recovery()') == f ]] || die "$from is in recovery: it is not a primary"
state=$(query "$to" <<<"SELECT pg_is_in_recovery()::text || ' ' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")
[[ $state == 'true streaming' ]] || die "$to must be a standby whose WAL receiver streams, but it answers: $state"
slot=$(slot_of "$to")
lag=$(query "$from" <<<"SELECT coalesce((SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), replay_lsn)::bigint FROM pg_stat_replication WHERE application_name = $(literal "$slot") AND state = 'streaming' LIMIT 1), -1)")
[[ $lag =~ ^-?[0-9]+$ ]] || die "cannot read the replication lag of $to on $from (got '$lag')"
((lag >= 0)) || die "$from has no streaming WAL sender for $to (application_name $slot)"
((lag <= max_lag)) || die "$to has $lag bytes of WAL left to replay, more than --max-lag-bytes $max_lag: writes would stop until it caught up; try again later"
log "checks passed: $from is the primary, $to streams from it and has $lag bytes to replay; other standbys: ${others[*]:-none}"

# --- 2. stop writes on the old primary ------------------------------------------------------------
allow_writes_again() {
  log "allowing writes on $from again"
  query_change "$from" <<<$'ALTER SYSTEM RESET default_transaction_read_only;\nSELECT pg_reload_conf();' >/dev/null
}
log "stopping writes on $from: default_transaction_read_only = on (persisted), client sessions terminated"
query_change "$from" >/dev/null <<'SQL'
ALTER SYSTEM SET default_transaction_read_only = on;
SELECT pg_reload_conf();
SQL
if [[ -z $dry_run ]]; then
  deadline=$((SECONDS + 30))
  # The postmaster reloads asynchronously: a new session shows when it has.
  until [[ $(query "$from" <<<'SHOW default_transaction_read_only') == on ]]; do
    ((SECONDS < deadline)) || { allow_writes_again; die "$from did not apply default_transaction_read_only within 30s"; }
    sleep 0.2
  done
fi
query_change "$from" >/dev/null <<'SQL'
SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();
SQL

# --- 3. wait for the standby to replay everything -------------------------------------------------
wait_for_replay() {
  local target deadline=$((SECONDS + timeout))
  # After the sessions are gone every commit is flushed: everything up to here must be replayed.
  target=$(query "$from" <<<'SELECT pg_current_wal_flush_lsn()')
  log "waiting up to ${timeout}s for $to to replay $from's WAL up to $target"
  until [[ $(query "$to" <<<"SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn") == t ]]; do
    if ((SECONDS >= deadline)); then
      allow_writes_again
      die "$to did not replay up to $target within ${timeout}s: nothing was switched over, $from takes writes again"
    fi
    sleep 0.2
  done
  log "$to has replayed everything $from committed"
}
# The other standbys must not replay WAL that $to will not have (the old primary still writes a
# little WAL while read-only: hint bits with checksums, standby snapshots): else they could not
# follow its new timeline. Their WAL senders are ended and their slots dropped, so that they cannot
# stream from the old primary again; then $to catches up with the old primary once more.
cut_off_others() {
  local names=() other list
  for other in "${others[@]}"; do names+=("$(literal "$(slot_of "$other")")"); done
  list=$(IFS=,; printf '%s' "${names[*]}")
  log "ending the WAL senders of ${others[*]} on $from and dropping their slots there"
  query_change "$from" <<SQL
DO \$\$
DECLARE s record;
BEGIN
  FOR s IN SELECT slot_name, active_pid FROM pg_replication_slots WHERE slot_name IN ($list) LOOP
    IF s.active_pid IS NOT NULL THEN PERFORM pg_terminate_backend(s.active_pid, 5000); END IF;
    -- A standby that reconnected meanwhile holds the slot again: the next round ends it.
    BEGIN PERFORM pg_drop_replication_slot(s.slot_name); EXCEPTION WHEN object_in_use THEN NULL; END;
  END LOOP;
END \$\$;
SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ($list);
SQL
}
if [[ -n $dry_run ]]; then
  log "would wait for $to to replay $from's WAL up to its pg_current_wal_flush_lsn()"
  if ((${#others[@]})); then cut_off_others; fi
else
  wait_for_replay
  if ((${#others[@]})); then
    deadline=$((SECONDS + 30))
    until [[ $(cut_off_others | tail -n 1) == 0 ]]; do
      ((SECONDS < deadline)) || { allow_writes_again; die "could not drop the slots of ${others[*]} on $from within 30s"; }
      sleep 0.2
    done
    wait_for_replay
  fi
fi

# --- 4. promote -------------------------------------------------------------------------------------
log "promoting $to"
promoted=$(query_change "$to" <<<'SELECT pg_promote(true, 60)')
[[ -n $dry_run || $promoted == t ]] || die "pg_promote on $to answered '$promoted': check its log (kubectl logs $to -c postgres); $from stays read-only"
for other in "${others[@]}"; do
  query_change "$to" >/dev/null <<<"SELECT pg_create_physical_replication_slot($(literal "$(slot_of "$other")"), true) WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $(literal "$(slot_of "$other")"));"
done

# --- 5. network and Service -------------------------------------------------------------------------
change apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: $name-switchover
  labels:
    app.kubernetes.io/part-of: $name-switchover
spec:
  # Added by switchover.sh: the standbys stream from, and the old primary's start-up asks, a
  # promoted standby. Delete it once the declared topology is restored.
  podSelector:
    matchExpressions:
      - { key: app.kubernetes.io/name, operator: In, values: [$name, $standby_set] }
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchExpressions:
              - { key: app.kubernetes.io/name, operator: In, values: [$name, $standby_set] }
      ports:
        - { port: 5432, protocol: TCP }
  egress:
    - to:
        - podSelector:
            matchExpressions:
              - { key: app.kubernetes.io/name, operator: In, values: [$name, $standby_set] }
      ports:
        - { port: 5432, protocol: TCP }
YAML
log "pointing the Service $name at $to"
change patch service "$name" --type merge \
  -p "{\"spec\":{\"selector\":{\"app.kubernetes.io/name\":\"$standby_set\",\"statefulset.kubernetes.io/pod-name\":\"$to\"},\"publishNotReadyAddresses\":true}}" </dev/null >/dev/null

# --- 6. the other standbys follow ---------------------------------------------------------------
# They retry every few seconds (wal_retrieve_retry_interval); through the Service they now reach
# the new primary, which has their slots.
if [[ -z $dry_run ]]; then
  # Streaming WAL written after the promotion: the standby is on the new timeline (it streams the
  # end of the old one first, briefly).
  promoted_at=$(query "$to" <<<'SELECT pg_current_wal_insert_lsn()')
  for other in "${others[@]}"; do
    deadline=$((SECONDS + timeout))
    until [[ $(query "$to" <<<"SELECT count(*) FROM pg_stat_replication WHERE application_name = $(literal "$(slot_of "$other")") AND state = 'streaming' AND flush_lsn >= '$promoted_at'::pg_lsn") == 1 ]]; do
      if ((SECONDS >= deadline)); then
        log "warning: $other does not stream from $to after ${timeout}s: it stays out of $name-read; see its log (kubectl logs $other -c postgres)"
        continue 2
      fi
      sleep 0.5
    done
    log "$other streams from $to"
  done
  [[ $(query "$from" <<<'SHOW default_transaction_read_only') == on ]] || die "$from is not read-only any more"
fi
log "done: $to is the primary behind the Service $name; $from is read-only (and its next start is refused while $to answers on its newer timeline)"
