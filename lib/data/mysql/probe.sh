#!/bin/bash
# Probes of the MySQL container. They ask the server itself, over TCP (so the entrypoint's temporary
# socket-only server during first initialisation does not count as up), with root's credentials
# from the environment.
#
#   probe.sh live    the server answers: `mysqladmin ping` (an "access denied" still proves it runs)
#   probe.sh ready   server.sh's set-up succeeded (the ready file exists) and root can run a query
#
# Environment (defaults are the pod's): MYSQL_HOST [127.0.0.1], MYSQL_PORT [3306],
# MYSQL_ROOT_PASSWORD (required), MYSQL_RUN_DIR [/var/run/mysqld].
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=client.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/client.sh"

case ${1:-} in
  live)
    mysqladmin --defaults-extra-file=<(client_options root "${MYSQL_ROOT_PASSWORD:-}") \
      --protocol=TCP --host="$MYSQL_HOST" --port="$MYSQL_PORT" --connect-timeout=3 ping >/dev/null
    ;;
  ready)
    if [[ ! -e "${MYSQL_RUN_DIR:-/var/run/mysqld}/setup-complete" ]]; then
      echo 'replication set-up has not completed' >&2
      exit 1
    fi
    local_sql --connect-timeout=3 -e 'SELECT 1' >/dev/null
    ;;
  *)
    echo "usage: $0 live|ready" >&2
    exit 64
    ;;
esac
