#!/usr/bin/env bash
# Prepares the data directory of the PostgreSQL primary. Runs as an init container of the primary
# pod (image postgres:14.x, uid 999) before the server starts, on every start, and is idempotent:
#
#   1. no database yet: initdb into a scratch directory beside PGDATA, then rename it into place,
#      so that a pod killed half-way never leaves a half-initialised PGDATA behind;
#   2. split-brain fence: asks every standby pod (REPLICATION_PEERS, over a replication connection:
#      IDENTIFY_SYSTEM) for its timeline. A standby of this cluster on a newer timeline than ours was
#      promoted and may have taken writes: this server must not become a second writable primary,
#      so the start is refused, the data left untouched, and the message names the fix. Peers that
#      do not answer (not running, fenced themselves) are skipped;
#   3. starts a temporary server with the real server's configuration (so that the parameters it
#      records in the WAL are the ones standbys expect), but listening on a private Unix socket only
#      (no TCP) that it trusts, and reconciles what the Secrets and the configuration say, changing
#      only what differs (a password is set only when it no longer verifies):
#      - the superuser's password (so rotating the Secret and restarting the pod rotates it),
#      - the application database,
#      - the replication role (LOGIN REPLICATION, password from its Secret), or NOLOGIN without one,
#      - one physical replication slot per standby (a slot invalidated by max_slot_wal_keep_size,
#        which reserves nothing any more, is created again), and drops inactive slots of ours no
#        standby uses;
#   4. stops the temporary server. The main container then starts the real server.
#
# On a healthy store a re-run writes nothing to the WAL but the temporary server's shutdown
# checkpoint.
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
#   REPLICATION_PEERS        the standby pods, host:port space-separated, asked for their timeline
#                            (needs REPLICATION_PASSWORD)                                     empty: none
#   PEER_TIMEOUT_SECONDS     connect timeout per peer                                         5
#   POSTGRES_CONFIG_FILE     the server's own config    /etc/postgresql/postgresql.conf
#   INITDB_LOCALE            locale of a new cluster    C.UTF-8 (code-point order: no index
#                            corruption when a glibc upgrade changes collation)
#   START_TIMEOUT_SECONDS    how long the temporary server may take (crash recovery)          3600
#   TMPDIR                   where the private socket directory is made                      /tmp
#   PATH                     must hold initdb, pg_ctl, pg_controldata and psql (the image's PATH does)
set -euo pipefail
umask 077

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_USER="${POSTGRES_USER:-app}"
POSTGRES_DB="${POSTGRES_DB:-app}"
REPLICATION_USER="${REPLICATION_USER:-replicator}"
REPLICATION_PASSWORD="${REPLICATION_PASSWORD:-}"
REPLICATION_SLOTS="${REPLICATION_SLOTS:-}"
REPLICATION_SLOT_PREFIX="${REPLICATION_SLOT_PREFIX:-}"
REPLICATION_PEERS="${REPLICATION_PEERS:-}"
PEER_TIMEOUT_SECONDS="${PEER_TIMEOUT_SECONDS:-5}"
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
[[ "$PEER_TIMEOUT_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "PEER_TIMEOUT_SECONDS '$PEER_TIMEOUT_SECONDS' must be a positive number of seconds"
for peer in $REPLICATION_PEERS; do
  [[ "$peer" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "replication peer '$peer' must be host:port"
done
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

# One pg_controldata field of PGDATA.
control() { pg_controldata "$PGDATA" | sed -n "s/^$1: *//p"; }

# Split brain: a promoted standby of this cluster is on a newer timeline than ours.
fence_if_promoted_elsewhere() {
  local system timeline peer answer peer_system peer_timeline
  system="$(control 'Database system identifier')"
  timeline="$(control "Latest checkpoint's TimeLineID")"
  for peer in $REPLICATION_PEERS; do
    if ! answer="$(PGPASSWORD="$REPLICATION_PASSWORD" PGCONNECT_TIMEOUT="$PEER_TIMEOUT_SECONDS" \
        psql -X -At -F ' ' -h "${peer%:*}" -p "${peer##*:}" -U "$REPLICATION_USER" -d 'replication=true' -c IDENTIFY_SYSTEM 2>&1)"; then
      log "peer $peer did not answer (skipped): $(printf '%s' "$answer" | tr '\n' ' ')"
      continue
    fi
    read -r peer_system peer_timeline _ <<<"$answer"
    if [ "$peer_system" != "$system" ]; then
      log "peer $peer belongs to another cluster (system $peer_system, ours $system): skipped"
    elif [[ "$peer_timeline" =~ ^[0-9]+$ ]] && [ "$peer_timeline" -gt "$timeline" ]; then
      die "peer $peer is on timeline $peer_timeline, newer than this primary's $timeline: it was promoted and may have taken writes, so this server must not start as a second primary (split brain). Either keep this primary: delete that standby's claim and pod so that it clones this primary again, then restart this pod; or keep the promoted server: copy its data out (pg_dump) before that, and restore it here afterwards."
    else
      log "peer $peer is on timeline $peer_timeline (ours $timeline)"
    fi
  done
}
if [ -n "$REPLICATION_PEERS" ] && [ -n "$REPLICATION_PASSWORD" ]; then
  fence_if_promoted_elsewhere
fi

sockdir="$(mktemp -d "${TMPDIR:-/tmp}/postgres-init.XXXXXX")"
# template1 checks passwords (SCRAM, as the real server does); everything else is trusted.
printf 'local template1 all scram-sha-256\nlocal all all trust\n' >"$sockdir/pg_hba.conf"
: >"$sockdir/pg_ident.conf"
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
  -o "-c config_file='$POSTGRES_CONFIG_FILE' -c listen_addresses='' -c port=5432 -c unix_socket_directories='$sockdir' -c hba_file='$sockdir/pg_hba.conf' -c ident_file='$sockdir/pg_ident.conf' -c log_min_error_statement=panic -c log_statement=none" \
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

# Whether role $1 logs in with password $2 (a wrong, missing or MD5 password does not).
password_verifies() {
  PGPASSWORD="$2" psql -X -At -h "$sockdir" -p 5432 -U "$1" -d template1 -c 'SELECT 1' >/dev/null 2>&1
}

{
  printf '%s\n' "SET password_encryption = 'scram-sha-256';"
  if ! password_verifies "$POSTGRES_USER" "$POSTGRES_PASSWORD"; then
    log "setting the password of $POSTGRES_USER"
    printf '%s\n' "ALTER ROLE $(ident "$POSTGRES_USER") WITH PASSWORD $(literal "$POSTGRES_PASSWORD");"
  fi
  printf '%s\n' "SELECT format('CREATE DATABASE %I OWNER %I', $(literal "$POSTGRES_DB"), $(literal "$POSTGRES_USER")) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = $(literal "$POSTGRES_DB")) \\gexec"
  if [ -n "$REPLICATION_PASSWORD" ]; then
    printf '%s\n' "SELECT format('CREATE ROLE %I', $(literal "$REPLICATION_USER")) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $(literal "$REPLICATION_USER")) \\gexec"
    printf '%s\n' "SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE', rolname) FROM pg_roles WHERE rolname = $(literal "$REPLICATION_USER") AND NOT (rolcanlogin AND rolreplication AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole) \\gexec"
    if ! password_verifies "$REPLICATION_USER" "$REPLICATION_PASSWORD"; then
      log "setting the password of $REPLICATION_USER"
      printf '%s\n' "ALTER ROLE $(ident "$REPLICATION_USER") WITH PASSWORD $(literal "$REPLICATION_PASSWORD");"
    fi
  else
    # Without a replication password nobody may replicate: an existing role is locked, not dropped.
    printf '%s\n' "SELECT format('ALTER ROLE %I WITH NOLOGIN', rolname) FROM pg_roles WHERE rolname = $(literal "$REPLICATION_USER") AND rolcanlogin \\gexec"
  fi
  # An invalidated ('lost') slot reserves nothing: it is created again, so that WAL is kept for the
  # standby's next clone from now on.
  printf '%s\n' "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active AND wal_status = 'lost' AND slot_name::text = ANY ($slots_array);"
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
