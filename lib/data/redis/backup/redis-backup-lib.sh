#!/usr/bin/env bash
# Functions the Redis backup, restore and restore-test scripts share (sourced, never run). They
# source restic.sh first (log, die, restic_*).
#
# A backup run is one restic snapshot holding one RDB per master plus manifest.tsv, whose lines are
#   <file> <TAB> <node id or -> <TAB> <address> <TAB> <slots or -> <TAB> <keys> <TAB> <bytes>
# <keys> is what redis-check-rdb read from that RDB when it was taken: the count every restore
# and restore test compares with.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the scripts that source this file
REDIS_MANIFEST=manifest.tsv

# redis-cli against host:port $1 (the password comes from REDISCLI_AUTH), carriage returns dropped.
rcli() {
  local node=$1; shift
  redis-cli -h "${node%:*}" -p "${node##*:}" "$@" | tr -d '\r'
}

# The value of field $2 in the INFO text $1.
info_field() { printf '%s\n' "$1" | sed -n "s/^$2://p"; }

# The key count redis-check-rdb reports for RDB file $1 on stdout; fails (with the check's output
# in the log) when the file is not a complete, valid RDB.
rdb_check_keys() {
  local file=$1 out keys
  if ! out=$(redis-check-rdb "$file" 2>&1); then
    log "redis-check-rdb refused $file:"; printf '%s\n' "$out" >&2
    return 1
  fi
  # A here-string, not `printf | grep -q`: grep -q stops reading at the match, and under pipefail
  # the writer's SIGPIPE would fail a good check.
  grep -q 'RDB looks OK' <<<"$out" || { log "redis-check-rdb did not find $file OK:"; printf '%s\n' "$out" >&2; return 1; }
  keys=$(printf '%s\n' "$out" | sed -n 's/^\[info\] \([0-9][0-9]*\) keys read$/\1/p' | tail -n 1)
  [[ "$keys" =~ ^[0-9]+$ ]] || { log "redis-check-rdb printed no key count for $file"; return 1; }
  printf '%s\n' "$keys"
}

# The promoted RDB snapshot to use: $1 is a snapshot id or "latest" (the newest promoted one, hourly
# or daily). Prints the full id; fails naming what exists when there is none.
redis_snapshot_id() {
  local repo=$1 wanted=$2 line id
  if [[ "$wanted" == latest ]]; then
    line=$(restic_snapshots "$repo" rdb | tail -n 1)
    [[ -n "$line" ]] || die "no promoted Redis backup (tag rdb) in $repo"
  else
    line=$(restic_snapshots "$repo" rdb | grep "\"id\":\"$wanted" | tail -n 1 || true)
    [[ -n "$line" ]] || die "snapshot $wanted is not a promoted Redis backup (tag rdb) of host $BACKUP_HOST in $repo: list them with: restic snapshots --host $BACKUP_HOST --tag rdb"
  fi
  id=$(snapshot_id "$line")
  printf '%s\n' "$id"
}


# Starts a throw-away redis-server on unix socket $2 (no TCP port) over data directory $1, loading
# RDB file $3 of it, with no saving of its own; extra arguments follow. Sets SCRATCH_PID (a child of
# this shell, so it can be waited for); waits until the data set is loaded (PING answers PONG, not
# LOADING). The server's log is $1/$3.log.
SCRATCH_PID=
scratch_redis_start() {
  local dir=$1 socket=$2 dbfile=$3 pid deadline answer; shift 3
  redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --dir "$dir" --dbfilename "$dbfile" \
    --save '' --appendonly no --cluster-enabled no --daemonize no --logfile "$dir/$dbfile.log" "$@" </dev/null >/dev/null 2>&1 &
  pid=$!
  deadline=$(( $(date +%s) + ${REDIS_LOAD_TIMEOUT_SECONDS:-3600} ))
  until answer=$(redis-cli -s "$socket" ping 2>/dev/null) && [[ "$answer" == PONG ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "scratch redis-server exited while loading $dbfile:"; tail -n 20 "$dir/$dbfile.log" >&2 || true
      return 1
    fi
    (( $(date +%s) < deadline )) || { kill "$pid"; log "scratch redis-server did not load $dbfile in time"; return 1; }
    sleep 0.2
  done
  SCRATCH_PID=$pid
}

# Stops the scratch server on socket $1 (SHUTDOWN $2, default NOSAVE: nothing of it is worth keeping)
# and waits for it to exit.
scratch_redis_stop() {
  local socket=$1 how=${2:-nosave}
  [[ -n "$SCRATCH_PID" ]] || return 0
  redis-cli -s "$socket" shutdown "$how" >/dev/null 2>&1 || kill "$SCRATCH_PID" 2>/dev/null || true
  wait "$SCRATCH_PID" 2>/dev/null || true
  SCRATCH_PID=
}
