#!/bin/bash
# GTID replication set-up of one server of the MySql construct. server.sh runs it beside the server
# on every container start, until it succeeds. It is idempotent, and the only data it ever drops is
# an unfinished copy of its own.
#
# primary: creates the database, the replication account and the application account when they are
#   missing or the password no longer matches the Secret. When everything is in place nothing is
#   written, not even to the binary log.
# replica, one of four states:
#   - replication configured: makes sure it runs and the server is read-only. The source is
#     re-pointed only when its address or user changed, or the password was rotated (the I/O
#     thread fails with "access denied"). No data is copied again: GTID auto-positioning resumes
#     where the replica stopped.
#   - nothing configured, no user schema: copies every user schema from the primary with a
#     consistent dump that carries the primary's GTID set, points replication at the primary with
#     GTID auto-positioning, starts it, creates the accounts and makes the server read-only.
#   - a marker says a copy was interrupted: the partial copy is dropped (the replication settings
#     and every user schema, of which the server held none when the copy began) and the copy starts
#     again.
#   - nothing configured but user schemas present: refuses (exit 1) rather than overwrite them.
#
# Accounts are not copied: the `mysql` system schema stays out of the dump, because loading it into
# a running MySQL 8.0 server would overwrite the server's own state kept there (mysql.gtid_executed,
# the replication metadata). root comes from the official entrypoint on every server, and this script
# creates the replication and application accounts on each replica after its copy (unlogged).
# Accounts created by hand on the primary reach replicas that replicate at the time; a replica
# added later does not get them.
#
# Flavours: production runs MySQL 8.0. The scripts are tested against MariaDB 10.11 because no MySQL
# server can be installed where the tests run. Statements that differ between the two are kept in
# functions named after the flavour, chosen by `SELECT VERSION()`:
#   mysql_dump_source, mysql_change_source, mysql_set_read_only        MySQL only, NOT exercised by tests
#   mariadb_dump_source, mariadb_change_source, mariadb_set_read_only  their MariaDB equivalents, tested
# Everything else (states, waiting, the copy pipeline and marker, accounts, RESET MASTER,
# START/STOP/RESET REPLICA, SHOW REPLICA STATUS parsing) is the same on both and is tested.
#
# Environment (defaults are the pod's):
#   MYSQL_ROLE                   primary | replica (required)
#   MYSQL_ROOT_PASSWORD          root's password, the same on every server (required)
#   MYSQL_HOST, MYSQL_PORT       the local server [127.0.0.1, 3306]
#   MYSQL_REPLICATION_USER       [replicator]
#   MYSQL_REPLICATION_PASSWORD   (required)
#   MYSQL_APP_DATABASE           the application's database; the primary creates it [none]
#                                (not MYSQL_DATABASE: the entrypoint would create it on replicas too)
#   MYSQL_APP_USER               application account with all privileges on MYSQL_APP_DATABASE [none]
#   MYSQL_APP_PASSWORD           its password (required with MYSQL_APP_USER)
#   MYSQL_SOURCE_HOST            replica: the primary's Service (required on replicas)
#   MYSQL_SOURCE_PORT            replica: [3306]
#   MYSQL_STATE_DIR              replica: persistent directory for the copy marker [/var/lib/mysql]
#   MYSQL_WAIT_SECONDS           how long to wait for a server to accept root's login [600]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=client.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/client.sh"

ROLE=${MYSQL_ROLE:-}
REPLICATION_USER=${MYSQL_REPLICATION_USER:-replicator}
SOURCE_PORT=${MYSQL_SOURCE_PORT:-3306}
STATE_DIR=${MYSQL_STATE_DIR:-/var/lib/mysql}
WAIT_SECONDS=${MYSQL_WAIT_SECONDS:-600}
COPY_MARKER="$STATE_DIR/replica-copy.incomplete"
SYSTEM_SCHEMAS="'mysql','information_schema','performance_schema','sys'"
FLAVOUR=

log() {
  printf '%s [replication] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

fail() {
  log "ERROR: $*" >&2
  exit 1
}

require() {
  [[ -n ${!1:-} ]] || fail "$1 must be set"
}

# source_sql [client options...]: statements on stdin, as root on the primary.
source_sql() {
  sql_as "$MYSQL_SOURCE_HOST" "$SOURCE_PORT" root "$MYSQL_ROOT_PASSWORD" "$@"
}

# wait_for_login HOST PORT WHAT: until root can run a query there, or WAIT_SECONDS have passed.
wait_for_login() {
  local host=$1 port=$2 what=$3 deadline=$((SECONDS + WAIT_SECONDS)) reported=$SECONDS
  until sql_as "$host" "$port" root "$MYSQL_ROOT_PASSWORD" --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what at $host:$port did not accept root's login within ${WAIT_SECONDS}s"
    if ((SECONDS - reported >= 10)); then
      log "waiting for $what at $host:$port"
      reported=$SECONDS
    fi
    sleep 1
  done
}

detect_flavour() {
  local version
  version=$(local_sql -e 'SELECT VERSION()')
  if [[ $version == *MariaDB* ]]; then FLAVOUR=mariadb; else FLAVOUR=mysql; fi
}

# user_schemas SQL_FUNCTION: the schemas of the application(s) on that server, one a line.
user_schemas() {
  "$1" -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ($SYSTEM_SCHEMAS) ORDER BY schema_name"
}

# replica_field NAMES: a field of SHOW REPLICA STATUS, empty when replication is not configured.
# NAMES is an alternation because MySQL says Source_Host and Replica_IO_Running where MariaDB says
# Master_Host and Slave_IO_Running.
replica_field() {
  local_sql --column-names --vertical -e 'SHOW REPLICA STATUS' | sed -n -E "s/^ *($1): ?(.*)$/\\2/p" | head -n 1
}

# account_ok USER PASSWORD GRANT: USER logs in with PASSWORD and holds GRANT (text of SHOW GRANTS).
account_ok() {
  local grants
  grants=$(sql_as "$MYSQL_HOST" "$MYSQL_PORT" "$1" "$2" --connect-timeout=5 -e 'SHOW GRANTS' 2>/dev/null) || return 1
  [[ $grants == *"$3"* ]]
}

# ensure_account USER PASSWORD PRIVILEGES OBJECT GRANT logged|unlogged: creates the account or
# resets its password and grant, only when it cannot log in with PASSWORD or lacks GRANT.
ensure_account() {
  local user=$1 password=$2 privileges=$3 object=$4 grant=$5 logging=$6 account
  account="$(sql_string "$user")@'%'"
  if account_ok "$user" "$password" "$grant"; then return 0; fi
  log "creating or updating account $user"
  {
    if [[ $logging == unlogged ]]; then echo 'SET SESSION sql_log_bin = 0;'; fi
    printf 'CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\n' "$account" "$(sql_string "$password")"
    printf 'ALTER USER %s IDENTIFIED BY %s;\n' "$account" "$(sql_string "$password")"
    printf 'GRANT %s ON %s TO %s;\n' "$privileges" "$object" "$account"
  } | local_sql
}

# ensure_accounts logged|unlogged: the replication account, and the application account if any.
ensure_accounts() {
  ensure_account "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" 'REPLICATION SLAVE' '*.*' 'REPLICATION SLAVE' "$1"
  if [[ -n ${MYSQL_APP_USER:-} ]]; then
    require MYSQL_APP_PASSWORD
    require MYSQL_APP_DATABASE
    # `_` and `%` are wildcards in a database-level grant: escaped, the grant covers this database only.
    local pattern=${MYSQL_APP_DATABASE//_/\\_} object
    pattern=${pattern//%/\\%}
    object="$(sql_name "$pattern").*"
    ensure_account "$MYSQL_APP_USER" "$MYSQL_APP_PASSWORD" 'ALL PRIVILEGES' "$object" "ALL PRIVILEGES ON $object" "$1"
  fi
}

# --- MySQL 8.0 only (not exercised by the tests) ----------------------------------------------

# A consistent dump of the given schemas; --set-gtid-purged=ON makes it start with
# SET @@GLOBAL.GTID_PURGED (the primary's gtid_executed at the snapshot, taken under a brief
# FLUSH TABLES WITH READ LOCK since 8.0.32) and turn binary logging off for the load.
mysql_dump_source() {
  mysqldump --defaults-extra-file=<(client_options root "$MYSQL_ROOT_PASSWORD") \
    --protocol=TCP --host="$MYSQL_SOURCE_HOST" --port="$SOURCE_PORT" \
    --single-transaction --set-gtid-purged=ON --triggers --routines --events \
    --hex-blob --no-tablespaces --max-allowed-packet=1G --databases "$@"
}

# GTID auto-positioning over TLS (the server generates its certificates), which
# caching_sha2_password needs to send the password.
mysql_change_source() {
  printf 'CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%d, SOURCE_USER=%s, SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;\n' \
    "$(sql_string "$MYSQL_SOURCE_HOST")" "$SOURCE_PORT" "$(sql_string "$REPLICATION_USER")" "$(sql_string "$MYSQL_REPLICATION_PASSWORD")" |
    local_sql
}

# super_read_only stops even root from writing; PERSIST keeps it across restarts (mysqld-auto.cnf
# in the data directory). It cannot be in my.cnf: the entrypoint's first initialisation writes.
mysql_set_read_only() {
  if [[ $1 == ON ]]; then
    local_sql -e 'SET PERSIST super_read_only = ON'
  else
    local_sql -e 'SET PERSIST super_read_only = OFF; SET PERSIST read_only = OFF'
  fi
}

# --- MariaDB 10.11 equivalents (exercised by the tests) ---------------------------------------

# --master-data=1 --gtid makes the dump set gtid_slave_pos to the primary's position at the snapshot.
mariadb_dump_source() {
  mysqldump --defaults-extra-file=<(client_options root "$MYSQL_ROOT_PASSWORD") \
    --protocol=TCP --host="$MYSQL_SOURCE_HOST" --port="$SOURCE_PORT" \
    --single-transaction --master-data=1 --gtid --triggers --routines --events \
    --hex-blob --max-allowed-packet=1G --databases "$@"
}

mariadb_change_source() {
  printf 'CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=10;\n' \
    "$(sql_string "$MYSQL_SOURCE_HOST")" "$SOURCE_PORT" "$(sql_string "$REPLICATION_USER")" "$(sql_string "$MYSQL_REPLICATION_PASSWORD")" |
    local_sql
}

mariadb_set_read_only() {
  local_sql -e "SET GLOBAL read_only = $1"
}

# --- set-up -------------------------------------------------------------------------------------

setup_primary() {
  wait_for_login "$MYSQL_HOST" "$MYSQL_PORT" 'the local server'
  if [[ -n ${MYSQL_APP_DATABASE:-} ]] && ! user_schemas local_sql | grep -qxF -- "$MYSQL_APP_DATABASE"; then
    log "creating database $MYSQL_APP_DATABASE"
    local_sql -e "CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_APP_DATABASE")"
  fi
  ensure_accounts logged
  log "primary ready"
}

# Drops what an interrupted copy left behind: replication settings and the partial schemas.
discard_partial_copy() {
  log "a previous copy from the primary did not finish: dropping the partial copy"
  "${FLAVOUR}_set_read_only" OFF
  if [[ -n $(replica_field 'Source_Host|Master_Host') ]]; then
    local_sql -e 'STOP REPLICA; RESET REPLICA ALL'
  fi
  local listing schema
  listing=$(user_schemas local_sql)
  if [[ -z $listing ]]; then return 0; fi
  while IFS= read -r schema; do
    local_sql -e "SET SESSION sql_log_bin = 0; DROP DATABASE $(sql_name "$schema")"
  done <<<"$listing"
}

copy_from_source() {
  local listing schemas
  listing=$(user_schemas source_sql)
  [[ -n $listing ]] || fail "the primary holds no user schema yet; nothing to copy"
  mapfile -t schemas <<<"$listing"
  log "copying ${schemas[*]} from $MYSQL_SOURCE_HOST:$SOURCE_PORT"
  mkdir -p "$STATE_DIR"
  : >"$COPY_MARKER"
  # The server's own writes since initialisation (the entrypoint's time zone load) would stay in
  # its GTID set as errant transactions, which break a later failover: the binary log starts empty.
  local_sql -e 'RESET MASTER'
  { echo 'SET SESSION sql_log_bin = 0;'; "${FLAVOUR}_dump_source" "${schemas[@]}"; } | local_sql --max-allowed-packet=1G
  "${FLAVOUR}_change_source"
  local_sql -e 'START REPLICA'
  ensure_accounts unlogged
  rm -f "$COPY_MARKER"
  log "copy complete"
}

resume_replica() {
  local host=$1 port user io_errno
  port=$(replica_field 'Source_Port|Master_Port')
  user=$(replica_field 'Source_User|Master_User')
  io_errno=$(replica_field 'Last_IO_Errno')
  if [[ $host != "$MYSQL_SOURCE_HOST" || $port != "$SOURCE_PORT" || $user != "$REPLICATION_USER" || $io_errno == 1045 ]]; then
    log "re-pointing replication from $user@$host:$port (I/O error $io_errno) to $REPLICATION_USER@$MYSQL_SOURCE_HOST:$SOURCE_PORT"
    local_sql -e 'STOP REPLICA'
    "${FLAVOUR}_change_source"
  fi
  # A no-op (a note, not an error) when it runs already, e.g. started by the server itself.
  local_sql -e 'START REPLICA'
}

setup_replica() {
  require MYSQL_SOURCE_HOST
  wait_for_login "$MYSQL_HOST" "$MYSQL_PORT" 'the local server'
  wait_for_login "$MYSQL_SOURCE_HOST" "$SOURCE_PORT" 'the primary'
  detect_flavour
  if [[ -e $COPY_MARKER ]]; then discard_partial_copy; fi
  local host
  host=$(replica_field 'Source_Host|Master_Host')
  if [[ -n $host ]]; then
    resume_replica "$host"
  else
    local data
    data=$(user_schemas local_sql | paste -sd ' ' -)
    if [[ -n $data ]]; then
      fail "refusing to copy from the primary: this server holds schemas ($data) but does not replicate; move them away or drop them"
    fi
    copy_from_source
  fi
  "${FLAVOUR}_set_read_only" ON
  log "replica of $MYSQL_SOURCE_HOST:$SOURCE_PORT, read-only"
}

require MYSQL_ROOT_PASSWORD
require MYSQL_REPLICATION_PASSWORD
case $ROLE in
  primary) setup_primary ;;
  replica) setup_replica ;;
  *) fail "MYSQL_ROLE must be primary or replica but is '$ROLE'" ;;
esac
