#!/bin/bash
# Probes of the MySQL container. They ask the server itself, over TCP (so the entrypoint's temporary
# socket-only server during first initialisation does not count as up), with root's credentials
# from the environment.
#
#   probe.sh live    the server answers: `mysqladmin ping` (an "access denied" still proves it runs).
#                    On a replica whose set-up had succeeded, also: its I/O thread has not stopped
#                    on an error that only the set-up repairs: the primary purged the binary logs
#                    it needs (1236; MySQL 8.0 wraps it as 13114) or refuses its replication
#                    password (1045, rotated). The kubelet then restarts the container, and the
#                    set-up copies again or re-points, instead of the replica staying unready.
#   probe.sh ready   server.sh's set-up succeeded (the ready file exists) and root can run a query;
#                    on a replica also: the server is read-only and both replication threads run
#                    (I/O and SQL: Yes). A replica whose I/O thread has stopped (the primary purged
#                    the binary logs it needs: error 1236) or is still connecting, or whose SQL
#                    thread stopped on an error, serves data that may be missing rows or falling
#                    behind without bound: it leaves the read Service until replication runs again.
#                    This includes the time the primary is down or restarting.
#
# Environment (defaults are the pod's): MYSQL_ROLE (primary | replica), MYSQL_HOST [127.0.0.1],
# MYSQL_PORT [3306], MYSQL_ROOT_PASSWORD (required), MYSQL_RUN_DIR [/var/run/mysqld].
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=client.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/client.sh"

not_ready() {
  echo "$*" >&2
  exit 1
}

case ${1:-} in
  live)
    mysqladmin --defaults-extra-file=<(client_options root "${MYSQL_ROOT_PASSWORD:-}") \
      --protocol=TCP --host="$MYSQL_HOST" --port="$MYSQL_PORT" --connect-timeout=3 ping >/dev/null
    if [[ ${MYSQL_ROLE:-} == replica && -e "${MYSQL_RUN_DIR:-/var/run/mysqld}/setup-complete" ]]; then
      # A failed query here (an access denied answer) is not a reason to restart: ping succeeded.
      status=$(replica_status 2>/dev/null) || exit 0
      errno=$(status_field "$status" Last_IO_Errno)
      if [[ $(status_field "$status" 'Replica_IO_Running|Slave_IO_Running') != Yes ]] && [[ $errno == 1236 || $errno == 13114 || $errno == 1045 ]]; then
        echo "replication stopped on error $errno ($(status_field "$status" Last_IO_Error)): restarting runs the set-up, which repairs it" >&2
        exit 1
      fi
    fi
    ;;
  ready)
    if [[ ! -e "${MYSQL_RUN_DIR:-/var/run/mysqld}/setup-complete" ]]; then
      not_ready 'replication set-up has not completed'
    fi
    if [[ ${MYSQL_ROLE:-} == replica ]]; then
      status=$(replica_status)
      io=$(status_field "$status" 'Replica_IO_Running|Slave_IO_Running')
      sql=$(status_field "$status" 'Replica_SQL_Running|Slave_SQL_Running')
      if [[ $(status_field "$status" Global_read_only) != 1 ]]; then
        not_ready 'the replica is writable (read_only is off)'
      fi
      if [[ $io != Yes || $sql != Yes ]]; then
        not_ready "replication is not running: I/O thread ${io:-not configured} (error $(status_field "$status" Last_IO_Errno): $(status_field "$status" Last_IO_Error)), SQL thread ${sql:-not configured} (error $(status_field "$status" Last_SQL_Errno): $(status_field "$status" Last_SQL_Error))"
      fi
    else
      local_sql --connect-timeout=3 -e 'SELECT 1' >/dev/null
    fi
    ;;
  *)
    echo "usage: $0 live|ready" >&2
    exit 64
    ;;
esac
