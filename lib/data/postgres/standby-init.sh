#!/usr/bin/env bash
# Prepares the data directory of a PostgreSQL streaming hot standby. Runs as an init container of
# each standby pod (image postgres:14.x, uid 999) before the server starts, on every start:
#
#   - PGDATA holds a standby (standby.signal): nothing is copied; only the connection to the
#     primary (primary_conninfo, primary_slot_name in postgresql.auto.conf) is written again, so
#     the server resumes streaming from where it stopped;
#   - PGDATA holds a cluster without standby.signal: it was promoted (a switchover). It is left
#     exactly as it is and starts as a primary; delete the claim to seed a standby afresh;
#   - no cluster yet: waits for the primary, clones it with pg_basebackup into a scratch directory
#     beside PGDATA (streaming WAL through this standby's replication slot, so nothing is missed
#     between the backup and the first streaming), adds standby.signal and the connection, and
#     renames it into place. A clone cut short leaves only the scratch directory, redone next time.
#
# The password is never written to disk: primary_conninfo has none, and the server's walreceiver
# takes it from PGPASSWORD in the main container's environment (libpq reads it).
#
# Interface (environment; defaults are what the pod uses):
#   PGDATA                 data directory                           /var/lib/postgresql/data/pgdata
#   PRIMARY_HOST           primary's Service (or address)           postgres
#   PRIMARY_PORT           its port                                 5432
#   REPLICATION_USER       role with REPLICATION                    replicator
#   REPLICATION_PASSWORD   its password                             required to clone
#   REPLICATION_SLOT       this standby's physical slot on the primary
#                                                                   POD_NAME (else HOSTNAME) with '-' as '_'
#   PRIMARY_WAIT_SECONDS   how long to wait for the primary before failing (the pod retries)   600
#   PATH                   must hold pg_basebackup and pg_isready (the image's PATH does)
set -euo pipefail
umask 077

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
PRIMARY_HOST="${PRIMARY_HOST:-postgres}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICATION_USER="${REPLICATION_USER:-replicator}"
pod="${POD_NAME:-${HOSTNAME:-}}"
REPLICATION_SLOT="${REPLICATION_SLOT:-${pod//-/_}}"
PRIMARY_WAIT_SECONDS="${PRIMARY_WAIT_SECONDS:-600}"

log() { printf 'standby-init: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$REPLICATION_SLOT" =~ ^[a-z0-9_]{1,63}$ ]] || die "replication slot name '$REPLICATION_SLOT' must be 1-63 of [a-z0-9_] (set REPLICATION_SLOT or POD_NAME)"
[[ "$PRIMARY_PORT" =~ ^[0-9]+$ ]] || die "PRIMARY_PORT '$PRIMARY_PORT' is not a port number"

# A libpq conninfo value: as it is when plain, else single-quoted with quotes and backslashes escaped.
conninfo_value() {
  if [[ "$1" =~ ^[A-Za-z0-9._:-]+$ ]]; then
    printf '%s' "$1"
  else
    local v="${1//\\/\\\\}"
    printf "'%s'" "${v//\'/\\\'}"
  fi
}

# Writes the connection to the primary into postgresql.auto.conf of data directory $1, replacing
# what a base backup copied from the primary or an earlier start wrote.
write_connection() {
  local dir="$1" conf="$1/postgresql.auto.conf" conninfo
  conninfo="host=$(conninfo_value "$PRIMARY_HOST") port=$PRIMARY_PORT user=$(conninfo_value "$REPLICATION_USER") application_name=$REPLICATION_SLOT"
  {
    if [ -f "$conf" ]; then
      grep -v -E '^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=' "$conf" || true
    fi
    printf "primary_conninfo = '%s'\n" "${conninfo//\'/\'\'}"
    printf "primary_slot_name = '%s'\n" "$REPLICATION_SLOT"
  } >"$dir/postgresql.auto.conf.tmp"
  mv "$dir/postgresql.auto.conf.tmp" "$conf"
}

if [ -s "$PGDATA/PG_VERSION" ]; then
  chmod 0700 "$PGDATA"
  if [ -e "$PGDATA/standby.signal" ]; then
    write_connection "$PGDATA"
    log "standby found in $PGDATA: resuming streaming from $PRIMARY_HOST:$PRIMARY_PORT through slot $REPLICATION_SLOT"
  else
    log "$PGDATA holds a cluster without standby.signal: it was promoted, so it starts as it is (a primary). Delete its claim to seed a standby afresh."
  fi
  exit 0
fi

if [ -e "$PGDATA" ]; then
  if [ -n "$(ls -A "$PGDATA")" ]; then
    die "$PGDATA is not empty but holds no PG_VERSION: refusing to clone over unknown files"
  fi
  rmdir "$PGDATA"
fi
[ -n "${REPLICATION_PASSWORD:-}" ] || die "REPLICATION_PASSWORD is empty: cannot clone the primary (replicationPasswordSecret)"

log "waiting up to ${PRIMARY_WAIT_SECONDS}s for the primary $PRIMARY_HOST:$PRIMARY_PORT"
deadline=$((SECONDS + PRIMARY_WAIT_SECONDS))
until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -t 5; do
  [ "$SECONDS" -lt "$deadline" ] || die "the primary $PRIMARY_HOST:$PRIMARY_PORT did not accept connections within ${PRIMARY_WAIT_SECONDS}s"
  sleep 2
done

scratch="${PGDATA}.clone"
rm -rf "${scratch:?}"
log "cloning $PRIMARY_HOST:$PRIMARY_PORT as $REPLICATION_USER through slot $REPLICATION_SLOT"
if ! PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup --pgdata="$scratch" --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" \
    --username="$REPLICATION_USER" --no-password --wal-method=stream --slot="$REPLICATION_SLOT" \
    --checkpoint=fast --verbose; then
  rm -rf "${scratch:?}"
  die "pg_basebackup from $PRIMARY_HOST:$PRIMARY_PORT failed (is slot $REPLICATION_SLOT created on the primary, and the replication password right?)"
fi
touch "$scratch/standby.signal"
write_connection "$scratch"
chmod 0700 "$scratch"
mv "$scratch" "$PGDATA"
log "standby seeded in $PGDATA; it streams from $PRIMARY_HOST:$PRIMARY_PORT through slot $REPLICATION_SLOT"
