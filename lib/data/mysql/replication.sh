#!/bin/bash
# GTID replication set-up of one server of the MySql construct. server.sh runs it beside the server
# on every container start, until it succeeds (exit 0); only then is the pod ready. It is
# idempotent: on a server that is already set up a run writes nothing, not even to the binary log.
# The only data it ever drops is on a replica: its copy of the primary, when that copy is unfinished
# or can no longer catch up. Every user schema goes then; a read-only replica holds nothing else
# (schemas created there by root with sql_log_bin = 0 would go too).
#
# primary: creates the database, the replication account and the application account when they are
#   missing or the password no longer matches the Secret. When everything is in place nothing is
#   written.
# replica: makes the server read-only first, then acts on one of four states:
#   - replication configured: makes sure it runs. The source is re-pointed only when its address or
#     user changed, or the password was rotated (the I/O thread fails with "access denied"). No data
#     is copied again: GTID auto-positioning resumes where the replica stopped.
#   - nothing configured, no user schema: copies every user schema from the primary with a
#     consistent dump that carries the primary's GTID set, points replication at the primary with
#     GTID auto-positioning, starts it and creates the accounts.
#   - a marker says a copy was interrupted: the copy is dropped (the replication settings and every
#     user schema, of which the server held none when the copy began) and made again.
#   - nothing configured but user schemas present: refuses (exit 1) rather than overwrite them.
#   Then it waits up to MYSQL_REPLICA_START_SECONDS for both replication threads to run (the I/O
#   thread is "Connecting" until the primary accepted it). When the primary no longer holds the
#   binary logs the replica needs (the I/O thread stops with error 1236, which MySQL 8.0 reports as
#   13114 "Got fatal error 1236"; the replica was away longer than binlog_expire_logs_seconds), the
#   replica's copy is dropped and made again, as after an interrupted copy. Any other stopped
#   thread, or threads not both running by the deadline, fails the run (exit 1) and server.sh
#   retries it: a replica that does not replicate is never declared set up.
#
# Read-only, so that there is never a second writable copy (no split brain): a replica never lets
# the application write, and nothing here turns read_only off. server.sh starts an initialised
# replica with --read-only; this script sets read_only (MySQL: super_read_only, persisted with SET
# PERSIST so that every later start has it) before anything else. The copy needs root's writes:
# MariaDB lets root write under read_only (READ_ONLY ADMIN); MySQL's super_read_only stops root
# too, so it is lifted for the running server only (SET GLOBAL, the persisted ON stays) while the
# copy runs, read_only staying on, and the EXIT trap sets it again on every exit path: success,
# failure, TERM. Until then the pod is not ready (no ready file; probe.sh also checks read_only).
#
# Interruption: a TERM (server.sh's set-up loop or the container stopping) ends the run at once. The
# copy (mysqldump | mysql) runs in a process group of its own that the EXIT trap kills, so no dump
# or load outlives the run to race the next attempt.
#
# Accounts are not copied: the `mysql` system schema stays out of the dump, because loading it into
# a running MySQL 8.0 server would overwrite the server's own state kept there (mysql.gtid_executed,
# the replication metadata). root comes from the official entrypoint on every server, and this script
# creates the replication and application accounts on each replica after its copy (unlogged).
# Accounts created by hand on the primary reach replicas that replicate at the time; a replica
# added later does not get them.
#
# Flavours: production runs MySQL 8.0. The scripts run against MariaDB 10.11 in the tests because
# no MySQL server can be installed where they run. Statements that differ between the two are kept
# in functions named after the flavour, chosen by `SELECT VERSION()`:
#   mysql_dump_source, mysql_change_source, mysql_set_read_only, mysql_allow_root_writes
#     MySQL only: tested with recording stand-ins for the clients (what is sent, not what it does)
#   mariadb_dump_source, mariadb_change_source, mariadb_set_read_only, mariadb_allow_root_writes
#     their MariaDB equivalents, tested against real servers
# Everything else (states, waiting, the copy pipeline, its process group and marker, accounts,
# RESET MASTER, START/STOP/RESET REPLICA, SHOW REPLICA STATUS parsing with both spellings of its
# fields, the error numbers) is the same on both and is tested.
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
#   MYSQL_REPLICA_START_SECONDS  replica: how long both replication threads may take to run [60]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=client.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/client.sh"

ROLE=${MYSQL_ROLE:-}
REPLICATION_USER=${MYSQL_REPLICATION_USER:-replicator}
SOURCE_PORT=${MYSQL_SOURCE_PORT:-3306}
STATE_DIR=${MYSQL_STATE_DIR:-/var/lib/mysql}
WAIT_SECONDS=${MYSQL_WAIT_SECONDS:-600}
START_SECONDS=${MYSQL_REPLICA_START_SECONDS:-60}
COPY_MARKER="$STATE_DIR/replica-copy.incomplete"
SYSTEM_SCHEMAS="'mysql','information_schema','performance_schema','sys'"
FLAVOUR=
# The process group of the copy under way, killed on exit.
COPY_GROUP=
# Set while root may write on this replica (MySQL: super_read_only lifted); cleared once read-only.
ROOT_WRITES=

log() {
  printf '%s [replication] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

fail() {
  log "ERROR: $*" >&2
  exit 1
}

# Every exit path: no copy process outlives the run, and a replica is read-only again.
on_exit() {
  local status=$?
  if [[ -n $COPY_GROUP ]]; then
    kill -TERM -- "-$COPY_GROUP" 2>/dev/null || true
    wait "$COPY_GROUP" 2>/dev/null || true
  fi
  if [[ -n $ROOT_WRITES ]]; then
    # If the server is going away too, the next start has read-only from server.sh and (MySQL) the
    # persisted setting.
    "${FLAVOUR}_set_read_only" 2>/dev/null || log "could not make the server read-only again (status $status)" >&2
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

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

# account_ok USER PASSWORD GRANT: USER logs in with PASSWORD and holds GRANT (text of SHOW GRANTS).
# --raw: batch mode would print the `\_` of an escaped database name as `\\_`.
account_ok() {
  local grants
  grants=$(sql_as "$MYSQL_HOST" "$MYSQL_PORT" "$1" "$2" --connect-timeout=5 --raw -e 'SHOW GRANTS' 2>/dev/null) || return 1
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

# --- MySQL 8.0 only (tested with recording stand-ins for the clients) -------------------------

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

# super_read_only stops even root from writing (and implies read_only); PERSIST keeps it across
# restarts (mysqld-auto.cnf in the data directory). It cannot be in my.cnf: the entrypoint's first
# initialisation writes.
mysql_set_read_only() {
  local_sql -e 'SET PERSIST super_read_only = ON'
}

# For the copy: root may write again, the application still may not (read_only stays on). Only the
# running server: the persisted super_read_only stays ON.
mysql_allow_root_writes() {
  local_sql -e 'SET GLOBAL read_only = ON; SET GLOBAL super_read_only = OFF'
}

# --- MariaDB 10.11 equivalents (tested against real servers) ----------------------------------

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

# Not persisted: server.sh starts initialised replicas with --read-only.
mariadb_set_read_only() {
  local_sql -e 'SET GLOBAL read_only = ON'
}

# root holds READ_ONLY ADMIN, which lets it write under read_only: read_only stays on.
mariadb_allow_root_writes() {
  local_sql -e 'SET GLOBAL read_only = ON'
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

# Root may write until the EXIT trap (or the end of the set-up) makes the server read-only again.
allow_root_writes() {
  ROOT_WRITES=1
  "${FLAVOUR}_allow_root_writes"
}

# discard_copy WHY: drops this replica's copy of the primary (replication settings and every user
# schema) under the copy marker, so that an interruption leads to the same again.
discard_copy() {
  log "$1: dropping this replica's copy of the primary"
  mkdir -p "$STATE_DIR"
  : >"$COPY_MARKER"
  allow_root_writes
  if [[ -n $(status_field "$(replica_status)" 'Source_Host|Master_Host') ]]; then
    local_sql -e 'STOP REPLICA; RESET REPLICA ALL'
  fi
  local listing schema
  listing=$(user_schemas local_sql)
  if [[ -z $listing ]]; then return 0; fi
  while IFS= read -r schema; do
    local_sql -e "SET SESSION sql_log_bin = 0; DROP DATABASE $(sql_name "$schema")"
  done <<<"$listing"
}

# load_from_source SCHEMA...: the primary's dump piped into the local server. The pipeline runs in
# a process group of its own (job control on for this one job), which on_exit kills.
load_from_source() {
  set -m
  (
    { echo 'SET SESSION sql_log_bin = 0;'; "${FLAVOUR}_dump_source" "$@"; } | local_sql --max-allowed-packet=1G
  ) &
  COPY_GROUP=$!
  set +m
  local status=0
  wait "$COPY_GROUP" || status=$?
  COPY_GROUP=
  ((status == 0)) || fail "the copy from the primary failed (status $status)"
}

copy_from_source() {
  local listing schemas
  listing=$(user_schemas source_sql)
  [[ -n $listing ]] || fail "the primary holds no user schema yet; nothing to copy"
  mapfile -t schemas <<<"$listing"
  log "copying ${schemas[*]} from $MYSQL_SOURCE_HOST:$SOURCE_PORT"
  mkdir -p "$STATE_DIR"
  : >"$COPY_MARKER"
  allow_root_writes
  # The server's own writes since initialisation (the entrypoint's time zone load) would stay in
  # its GTID set as errant transactions, which break a later failover: the binary log starts empty.
  local_sql -e 'RESET MASTER'
  load_from_source "${schemas[@]}"
  "${FLAVOUR}_change_source"
  local_sql -e 'START REPLICA'
  ensure_accounts unlogged
  rm -f "$COPY_MARKER"
  log "copy complete"
}

resume_replica() {
  local status=$1 host port user io_errno
  host=$(status_field "$status" 'Source_Host|Master_Host')
  port=$(status_field "$status" 'Source_Port|Master_Port')
  user=$(status_field "$status" 'Source_User|Master_User')
  io_errno=$(status_field "$status" Last_IO_Errno)
  if [[ $host != "$MYSQL_SOURCE_HOST" || $port != "$SOURCE_PORT" || $user != "$REPLICATION_USER" || $io_errno == 1045 ]]; then
    log "re-pointing replication from $user@$host:$port (I/O error $io_errno) to $REPLICATION_USER@$MYSQL_SOURCE_HOST:$SOURCE_PORT"
    local_sql -e 'STOP REPLICA'
    "${FLAVOUR}_change_source"
  fi
  # A no-op (a note, not an error) when it runs already, e.g. started by the server itself.
  local_sql -e 'START REPLICA'
}

# await_replication: returns 0 once both replication threads run, 1 when the primary no longer holds
# the binary logs this replica needs; fails when a thread stopped on any other error, or when they
# do not both run within START_SECONDS. (Called as a condition, where set -e does not apply.)
await_replication() {
  local deadline=$((SECONDS + START_SECONDS)) status io sql io_errno io_error
  while :; do
    status=$(replica_status) || fail 'SHOW REPLICA STATUS failed'
    io=$(status_field "$status" 'Replica_IO_Running|Slave_IO_Running')
    sql=$(status_field "$status" 'Replica_SQL_Running|Slave_SQL_Running')
    if [[ $io == Yes && $sql == Yes ]]; then return 0; fi
    io_errno=$(status_field "$status" Last_IO_Errno)
    io_error=$(status_field "$status" Last_IO_Error)
    # MySQL 8.0 wraps the primary's 1236 in its own 13114 ("Got fatal error 1236 from source ...").
    if [[ $io == No && ($io_errno == 1236 || ($io_errno == 13114 && $io_error == *'fatal error 1236'*)) ]]; then
      log "the I/O thread stopped: error $io_errno: $io_error"
      return 1
    fi
    if [[ $sql != Yes ]]; then
      fail "the SQL thread is not running (${sql:-not configured}): error $(status_field "$status" Last_SQL_Errno): $(status_field "$status" Last_SQL_Error)"
    fi
    if [[ $io == No ]]; then fail "the I/O thread stopped: error $io_errno: $io_error"; fi
    if ((SECONDS >= deadline)); then
      fail "the I/O thread is still ${io:-not configured} after ${START_SECONDS}s (last error $io_errno: $io_error)"
    fi
    sleep 1
  done
}

setup_replica() {
  require MYSQL_SOURCE_HOST
  wait_for_login "$MYSQL_HOST" "$MYSQL_PORT" 'the local server'
  wait_for_login "$MYSQL_SOURCE_HOST" "$SOURCE_PORT" 'the primary'
  detect_flavour
  "${FLAVOUR}_set_read_only"
  if [[ -e $COPY_MARKER ]]; then discard_copy 'a previous copy from the primary did not finish'; fi
  local status
  status=$(replica_status)
  if [[ -n $(status_field "$status" 'Source_Host|Master_Host') ]]; then
    resume_replica "$status"
  else
    local data
    data=$(user_schemas local_sql | paste -sd ' ' -)
    if [[ -n $data ]]; then
      fail "refusing to copy from the primary: this server holds schemas ($data) but does not replicate; move them away or drop them"
    fi
    copy_from_source
  fi
  if ! await_replication; then
    discard_copy 'the primary no longer holds the binary logs this replica needs'
    copy_from_source
    await_replication || fail 'the primary purged the binary logs this replica needs again during its copy'
  fi
  "${FLAVOUR}_set_read_only"
  ROOT_WRITES=
  log "replica of $MYSQL_SOURCE_HOST:$SOURCE_PORT, replicating, read-only"
}

require MYSQL_ROOT_PASSWORD
require MYSQL_REPLICATION_PASSWORD
case $ROLE in
  primary) setup_primary ;;
  replica) setup_replica ;;
  *) fail "MYSQL_ROLE must be primary or replica but is '$ROLE'" ;;
esac
