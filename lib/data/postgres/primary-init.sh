#!/usr/bin/env bash
# Prepares the data directory of the PostgreSQL primary. Runs as an init container of the primary
# pod (image postgres:14.x, uid 999) before the server starts, on every start, and is idempotent:
#
#   1. no database yet: initdb into a scratch directory beside PGDATA, then rename it into place,
#      so that a pod killed half-way never leaves a half-initialised PGDATA behind;
#   2. starts a temporary server with the real server's configuration (so that the parameters it
#      records in the WAL are the ones standbys expect), but listening on a private Unix socket only
#      (no TCP) that it trusts, and reconciles what the Secrets and the configuration say:
#      - the superuser's password (so rotating the Secret and restarting the pod rotates it),
#      - the application database,
#      - the replication role (LOGIN REPLICATION, password from its Secret), or NOLOGIN without one,
#      - one physical replication slot per standby, and drops inactive slots of ours no standby uses;
#   3. stops the temporary server. The main container then starts the real server.
#
# Interface (environment; defaults are what the pod uses):
#   PGDATA                   data directory            /var/lib/postgresql/data/pgdata
#   POSTGRES_USER            superuser (initdb -U)      app
#   POSTGRES_PASSWORD        its password               required
#   POSTGRES_DB              application database       app
#   REPLICATION_USER         replication role           replicator
#   REPLICATION_PASSWORD     its password               empty: the role cannot log in
#   REPLICATION_SLOTS        slots to keep, space-separated (standby pod names, '-' as '_')   empty
#   REPLICATION_SLOT_PREFIX  slots this script owns: inactive ones with the prefix that are not in
#                            REPLICATION_SLOTS are dropped (scaled-down standbys)             empty: none
#   POSTGRES_CONFIG_FILE     the server's own config    /etc/postgresql/postgresql.conf
#   INITDB_LOCALE            locale of a new cluster    C.UTF-8 (code-point order: no index
#                            corruption when a glibc upgrade changes collation)
#   START_TIMEOUT_SECONDS    how long the temporary server may take (crash recovery)          3600
#   TMPDIR                   where the private socket directory is made                      /tmp
#   PATH                     must hold initdb, pg_ctl and psql (the image's PATH does)
set -euo pipefail
umask 077

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_USER="${POSTGRES_USER:-app}"
POSTGRES_DB="${POSTGRES_DB:-app}"
REPLICATION_USER="${REPLICATION_USER:-replicator}"
REPLICATION_PASSWORD="${REPLICATION_PASSWORD:-}"
REPLICATION_SLOTS="${REPLICATION_SLOTS:-}"
REPLICATION_SLOT_PREFIX="${REPLICATION_SLOT_PREFIX:-}"
POSTGRES_CONFIG_FILE="${POSTGRES_CONFIG_FILE:-/etc/postgresql/postgresql.conf}"
INITDB_LOCALE="${INITDB_LOCALE:-C.UTF-8}"
START_TIMEOUT_SECONDS="${START_TIMEOUT_SECONDS:-3600}"

log() { printf 'primary-init: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A SQL string literal (standard_conforming_strings is on: only quotes need doubling).
literal() { printf "'%s'" "${1//\'/\'\'}"; }
# A SQL identifier.
ident() { printf '"%s"' "${1//\"/\"\"}"; }

[ -f "$POSTGRES_CONFIG_FILE" ] || die "POSTGRES_CONFIG_FILE $POSTGRES_CONFIG_FILE does not exist"
[ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD is empty: the superuser needs a password (passwordSecret)"
for slot in $REPLICATION_SLOTS; do
  [[ "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || die "replication slot name '$slot' must be 1-63 of [a-z0-9_]"
done

initialise() {
  local scratch="${PGDATA}.initdb"
  if [ -e "$PGDATA" ]; then
    # A subdirectory of the volume is ours alone: anything in it that is not a cluster is a mistake
    # that must not be silently overwritten.
    if [ -n "$(ls -A "$PGDATA")" ]; then
      die "$PGDATA is not empty but holds no PG_VERSION: refusing to initialise over unknown files"
    fi
    rmdir "$PGDATA"
  fi
  rm -rf "${scratch:?}"
  log "no cluster in $PGDATA: running initdb (superuser $POSTGRES_USER, locale $INITDB_LOCALE, data checksums)"
  initdb -D "$scratch" -U "$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale="$INITDB_LOCALE" --data-checksums --no-instructions >&2
  mv "$scratch" "$PGDATA"
}

if [ -s "$PGDATA/PG_VERSION" ]; then
  log "cluster found in $PGDATA (PostgreSQL $(cat "$PGDATA/PG_VERSION"))"
else
  initialise
fi
# PostgreSQL refuses a data directory that group or others can write; a volume's fsGroup handling
# can add group bits, so they are taken away again on every start.
chmod 0700 "$PGDATA"

if [ -e "$PGDATA/standby.signal" ]; then
  log "$PGDATA holds standby.signal: this data directory is a standby, nothing to set up as primary"
  exit 0
fi

sockdir="$(mktemp -d "${TMPDIR:-/tmp}/postgres-init.XXXXXX")"
printf 'local all all trust\n' >"$sockdir/pg_hba.conf"
server_started=0
cleanup() {
  local status=$?
  if [ "$server_started" = 1 ]; then
    pg_ctl -D "$PGDATA" -m fast -w -t "$START_TIMEOUT_SECONDS" stop >/dev/null || status=1
  fi
  [ -f "$sockdir/server.log" ] && sed 's/^/primary-init: server: /' "$sockdir/server.log" >&2
  rm -rf "$sockdir"
  exit "$status"
}
trap cleanup EXIT

# The real configuration matters: a standby pauses replay when the WAL says the primary ran with
# more max_connections (and the like) than it has. Statements carry passwords: the temporary
# server never logs statement text, not even on error.
pg_ctl -D "$PGDATA" -w -t "$START_TIMEOUT_SECONDS" -l "$sockdir/server.log" \
  -o "-c config_file='$POSTGRES_CONFIG_FILE' -c listen_addresses='' -c port=5432 -c unix_socket_directories='$sockdir' -c hba_file='$sockdir/pg_hba.conf' -c log_min_error_statement=panic -c log_statement=none" \
  start >/dev/null
server_started=1

superuser_exists="$(psql -X -At -h "$sockdir" -p 5432 -U "$POSTGRES_USER" -d postgres \
  -c "SELECT 1 FROM pg_roles WHERE rolname = $(literal "$POSTGRES_USER") AND rolsuper" 2>&1)" || \
  die "cannot connect as $POSTGRES_USER: was this cluster initialised with another superuser? ($superuser_exists)"
[ "$superuser_exists" = 1 ] || die "role $POSTGRES_USER is not a superuser of this cluster"

slots_array="ARRAY[]::text[]"
if [ -n "$REPLICATION_SLOTS" ]; then
  slots_array="ARRAY["
  sep=""
  for slot in $REPLICATION_SLOTS; do
    slots_array+="$sep$(literal "$slot")"
    sep=","
  done
  slots_array+="]::text[]"
fi

{
  printf '%s\n' "SET password_encryption = 'scram-sha-256';"
  printf '%s\n' "ALTER ROLE $(ident "$POSTGRES_USER") WITH PASSWORD $(literal "$POSTGRES_PASSWORD");"
  printf '%s\n' "SELECT format('CREATE DATABASE %I OWNER %I', $(literal "$POSTGRES_DB"), $(literal "$POSTGRES_USER")) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = $(literal "$POSTGRES_DB")) \\gexec"
  if [ -n "$REPLICATION_PASSWORD" ]; then
    printf '%s\n' "SELECT format('CREATE ROLE %I', $(literal "$REPLICATION_USER")) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $(literal "$REPLICATION_USER")) \\gexec"
    printf '%s\n' "ALTER ROLE $(ident "$REPLICATION_USER") WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD $(literal "$REPLICATION_PASSWORD");"
  else
    # Without a replication password nobody may replicate: an existing role is locked, not dropped.
    printf '%s\n' "SELECT format('ALTER ROLE %I WITH NOLOGIN', rolname) FROM pg_roles WHERE rolname = $(literal "$REPLICATION_USER") \\gexec"
  fi
  # Reserve WAL right away, so that the standby's base backup and its streaming afterwards never miss
  # a segment. max_slot_wal_keep_size bounds what a standby that never comes back can hold.
  printf '%s\n' "SELECT pg_create_physical_replication_slot(s, true) FROM unnest($slots_array) AS s WHERE s NOT IN (SELECT slot_name::text FROM pg_replication_slots);"
  if [ -n "$REPLICATION_SLOT_PREFIX" ]; then
    printf '%s\n' "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active AND starts_with(slot_name::text, $(literal "$REPLICATION_SLOT_PREFIX")) AND slot_name::text <> ALL ($slots_array);"
  fi
} | psql -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p 5432 -U "$POSTGRES_USER" -d postgres >/dev/null

slots_now="$(psql -X -At -h "$sockdir" -p 5432 -U "$POSTGRES_USER" -d postgres \
  -c "SELECT coalesce(string_agg(slot_name::text, ' ' ORDER BY slot_name), '(none)') FROM pg_replication_slots WHERE slot_type = 'physical'")"
log "superuser $POSTGRES_USER and database $POSTGRES_DB reconciled"
if [ -n "$REPLICATION_PASSWORD" ]; then
  log "replication role $REPLICATION_USER can log in; physical slots: $slots_now"
else
  log "no replication password: role $REPLICATION_USER (if any) cannot log in; physical slots: $slots_now"
fi
