#!/usr/bin/env bash
# The kubelet's probes of a PostgreSQL pod (main container, image postgres:14.x, uid 999):
#
#   probe.sh live             the server accepts connections (pg_isready: no login, no query). Cheap
#                             on purpose: a busy server or a standby catching up is never restarted.
#   probe.sh ready primary    ...and it serves writes: it is not in recovery (a data directory that
#                             holds a standby never takes writes through the primary's Service),
#                             and new transactions are not read-only (a primary fenced by a
#                             switchover keeps default_transaction_read_only = on: it is up, but
#                             not a primary any more).
#   probe.sh ready standby    ...and it serves the primary's current data: it is in recovery and its
#                             WAL receiver has been streaming for PROBE_STREAMING_SECONDS. A standby
#                             that cannot stream (primary down, WAL it needs removed, wrong password)
#                             serves stale data, and a promoted one diverges: both leave the read
#                             Service.
#
# A failure prints why (the kubelet shows it in the pod's events). `ready` logs in as POSTGRES_USER
# over the pod's own socket by peer authentication (pg_hba.conf maps the pod's OS user, which owns
# the data directory anyway, to it): no password, so a rotated Secret never makes a pod unready.
#
# Interface (environment; defaults are what the pod uses):
#   POSTGRES_USER            role the probe logs in as          app
#   PROBE_HOST               socket directory (or host)         /var/run/postgresql
#   PROBE_PORT               port                               5432
#   PROBE_STREAMING_SECONDS  how long the WAL receiver must have been streaming: a receiver that the
#                            primary refuses is 'streaming' for a few milliseconds every 5 s    3
#   PATH                     must hold pg_isready and psql (the image's PATH does)
set -euo pipefail

host="${PROBE_HOST:-/var/run/postgresql}"
port="${PROBE_PORT:-5432}"
user="${POSTGRES_USER:-app}"
streaming_seconds="${PROBE_STREAMING_SECONDS:-3}"

usage() { printf 'usage: probe.sh live | probe.sh ready primary|standby\n' >&2; exit 2; }
fail() { printf 'not ready: %s\n' "$*"; exit 1; }

[[ "$streaming_seconds" =~ ^[0-9]+$ ]] || usage

if ! pg_isready -q -h "$host" -p "$port" -t 3; then
  printf 'not accepting connections on %s:%s\n' "$host" "$port"
  exit 1
fi
[ "${1:-}" = live ] && [ $# -eq 1 ] && exit 0
if [ "${1:-}" != ready ] || [ $# -ne 2 ]; then usage; fi

query() {
  PGCONNECT_TIMEOUT=3 PGOPTIONS='-c statement_timeout=3000' \
    psql -X -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d postgres -c "$1" 2>&1
}

case "$2" in
  primary)
    state="$(query "SELECT CASE WHEN pg_is_in_recovery() THEN 'recovery'
        WHEN current_setting('default_transaction_read_only')::boolean THEN 'read-only' ELSE 'primary' END")" \
      || fail "cannot query the server: $state"
    case "$state" in
      primary) ;;
      read-only) fail "the primary refuses writes (default_transaction_read_only = on): fenced by a switchover (README runbook 'Database switchover (PostgreSQL)'), or set by hand" ;;
      *) fail "the primary's server is in recovery: its data directory holds a standby (standby.signal) and never takes writes" ;;
    esac
    ;;
  standby)
    state="$(query "SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 'promoted'
        WHEN w.pid IS NULL THEN 'no WAL receiver'
        WHEN w.status <> 'streaming' THEN 'WAL receiver ' || w.status
        WHEN a.backend_start > now() - make_interval(secs => $streaming_seconds) THEN 'WAL receiver streaming for less than ${streaming_seconds}s'
        ELSE 'streaming' END
      FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS w ON true LEFT JOIN pg_stat_activity AS a ON a.pid = w.pid")" \
      || fail "cannot query the server: $state"
    case "$state" in
      streaming) ;;
      promoted) fail "this standby was promoted (not in recovery): it is no copy of the primary any more (see standby-init.sh: its next start is refused)" ;;
      *) fail "$state: not streaming from the primary, the data may be stale. If the server log says 'requested WAL segment ... has already been removed', the primary no longer has WAL this standby needs: restart the pod, standby-init clones it again" ;;
    esac
    ;;
  *) usage ;;
esac
