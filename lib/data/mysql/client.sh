#!/bin/bash
# How the MySQL scripts talk to a server. Sourced by replication.sh and probe.sh, never run.
#
# Credentials never appear on a command line (where `ps` shows them) nor in a file: each client
# call reads a [client] option group from a pipe (process substitution), as the official image's
# entrypoint does. Connections always use TCP, never the socket: while the official entrypoint
# initialises an empty data directory it runs a temporary server on the socket only
# (--skip-networking), and nothing may touch the server before that has finished.
#
# Environment (defaults are the pod's):
#   MYSQL_HOST            the local server [127.0.0.1]
#   MYSQL_PORT            [3306]
#   MYSQL_ROOT_PASSWORD   root's password, the same on every server of the construct (required)

MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}

# Prints a [client] option group for user $1 with password $2. Inside double quotes the option-file
# parser reads \\ as \ and \" as ", so any password survives.
client_options() {
  local password=${2//\\/\\\\}
  password=${password//\"/\\\"}
  printf '[client]\nuser="%s"\npassword="%s"\n' "$1" "$password"
}

# sql_as HOST PORT USER PASSWORD [client options...]: runs the statements on stdin and prints rows
# tab-separated without a header. --defaults-extra-file must be the client's first option.
sql_as() {
  local host=$1 port=$2 user=$3 password=$4
  shift 4
  mysql --defaults-extra-file=<(client_options "$user" "$password") \
    --protocol=TCP --host="$host" --port="$port" --batch --skip-column-names "$@"
}

# local_sql [client options...]: statements on stdin, as root on the local server.
local_sql() {
  sql_as "$MYSQL_HOST" "$MYSQL_PORT" root "$MYSQL_ROOT_PASSWORD" "$@"
}

# sql_string VALUE: VALUE as a quoted SQL string literal (backslash and quote escaped).
sql_string() {
  local value=${1//\\/\\\\}
  value=${value//\'/\\\'}
  printf "'%s'" "$value"
}

# sql_name NAME: NAME as a quoted SQL identifier.
sql_name() {
  local quote='`'
  printf '%s%s%s' "$quote" "${1//$quote/$quote$quote}" "$quote"
}

# replica_status: `Field: value` lines: Global_read_only (the server's read_only, 0 or 1), then the
# fields of SHOW REPLICA STATUS, none of them when replication is not configured.
replica_status() {
  local_sql --connect-timeout=3 --column-names --vertical -e 'SELECT @@global.read_only AS Global_read_only; SHOW REPLICA STATUS'
}

# status_field STATUS NAMES: the value of the first field of STATUS named one of NAMES, an
# alternation because MySQL says Source_Host and Replica_IO_Running where MariaDB says Master_Host
# and Slave_IO_Running. Empty when there is no such field.
status_field() {
  sed -n -E "/^ *($2):/{s/^ *($2): ?(.*)$/\\2/p;q;}" <<<"$1"
}
