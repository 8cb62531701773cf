#!/bin/bash
# Command of the MySQL container: runs the official image's entrypoint (which initialises an empty
# data directory, then becomes mysqld) with this pod's server id, and replication.sh beside it.
#
# Why a wrapper: the copy a new replica needs (mysqldump from the primary piped into the local
# server) needs the local server running, so it cannot be an init container; a sidecar would have to
# stay alive and carry probes of its own (Kubernetes 1.27 has no native sidecars); a postStart hook
# hides its output and holds back the probes. Here the set-up runs in the background, is retried
# until it succeeds, and its output goes to the container's log. Until it has succeeded the ready
# file is missing, so probe.sh keeps the pod out of its Services: a replica serves reads only once it
# holds a copy, replicates and is read-only; the primary only once its accounts exist.
#
# Server ids are unique per StatefulSet pod: the primary is 1 + ordinal (1: it runs one pod),
# replica N is 100 + N.
#
# A replica whose data directory is initialised starts with --read-only, so that it is read-only
# from its first connection, before replication.sh runs (MariaDB does not persist read_only; MySQL
# also has super_read_only persisted by replication.sh). On first initialisation it does not: the
# entrypoint passes the same options to its temporary server, which must write.
#
# Stopping: a TERM stops the set-up attempt under way (replication.sh kills its copy and makes the
# server read-only again) and the server; this script exits once both have.
#
# Environment (defaults are the pod's):
#   HOSTNAME                   the pod's name, `<statefulset>-<ordinal>`
#   MYSQL_ROLE                 primary | replica (required)
#   MYSQL_HEADLESS_SERVICE     the StatefulSet's headless Service: the server reports
#                              HOSTNAME.<service> to its source (SHOW REPLICAS) [none]
#   MYSQL_RUN_DIR              where the ready file is written [/var/run/mysqld]
#   MYSQL_SETUP_RETRY_SECONDS  pause after a failed set-up attempt [10]
#   MYSQL_ENTRYPOINT           the server's entry point [docker-entrypoint.sh]
#   MYSQL_DATA_DIR             the server's data directory, initialised once it holds `mysql`
#                              (the entrypoint's test) [/var/lib/mysql/data]
#   and everything replication.sh reads.
# Arguments: passed to the entry point ahead of --server-id (the pod passes `mysqld`).
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
role=${MYSQL_ROLE:-}
retry=${MYSQL_SETUP_RETRY_SECONDS:-10}
ready_file="${MYSQL_RUN_DIR:-/var/run/mysqld}/setup-complete"

log() {
  printf '%s [server] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

ordinal=${HOSTNAME##*-}
if [[ ! $ordinal =~ ^[0-9]+$ ]]; then
  log "ERROR: HOSTNAME '$HOSTNAME' does not end in a StatefulSet ordinal" >&2
  exit 1
fi
case $role in
  primary) server_id=$((1 + 10#$ordinal)) ;;
  replica) server_id=$((100 + 10#$ordinal)) ;;
  *)
    log "ERROR: MYSQL_ROLE must be primary or replica but is '$role'" >&2
    exit 1
    ;;
esac
args=("$@" "--server-id=$server_id")
if [[ -n ${MYSQL_HEADLESS_SERVICE:-} ]]; then args+=("--report-host=$HOSTNAME.$MYSQL_HEADLESS_SERVICE"); fi
if [[ $role == replica && -d ${MYSQL_DATA_DIR:-/var/lib/mysql/data}/mysql ]]; then args+=(--read-only=ON); fi

# Left over from an earlier run of this container (the directory outlives container restarts).
rm -f "$ready_file"

# Retries the set-up until it succeeds; a TERM stops the attempt under way and waits for its exit.
run_setup() {
  local child=
  trap 'if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" || true; fi; exit 143' TERM
  while :; do
    bash "$here/replication.sh" &
    child=$!
    if wait "$child"; then
      : >"$ready_file"
      return 0
    fi
    log "set-up failed; retrying in ${retry}s"
    sleep "$retry" &
    child=$!
    wait "$child" || true
  done
}

log "server id $server_id ($role)"
"${MYSQL_ENTRYPOINT:-docker-entrypoint.sh}" "${args[@]}" &
server=$!
run_setup &
setup=$!

# Shutdown: the server gets the TERM (mysqld shuts down cleanly), the set-up stops.
trap 'kill -TERM "$setup" "$server" 2>/dev/null || true' TERM INT

# wait returns early when a signal arrives; the loop waits on until the server has exited.
while kill -0 "$server" 2>/dev/null; do
  wait "$server" || true
done
status=0
wait "$server" || status=$?
kill -TERM "$setup" 2>/dev/null || true
wait "$setup" || true
log "server exited with status $status"
exit "$status"
