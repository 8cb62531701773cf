#!/usr/bin/env bash
# Functions the etcd snapshot, restore and restore-test scripts share (sourced after restic.sh).
#
# Binaries: the official etcd image (quay.io/coreos/etcd, distroless: NO shell at all) cannot run
# these scripts, so they run in a container with bash and get the image's static etcdctl,
# etcdutl and etcd binaries on PATH or through ETCDCTL_BIN, ETCDUTL_BIN, ETCD_BIN.
# etcdutl (3.5+) does the offline work (snapshot status, restore); where it is missing (3.4)
# etcdctl's own, deprecated `snapshot status|restore` are used.
# shellcheck shell=bash

ETCDCTL_BIN=${ETCDCTL_BIN:-etcdctl}
ETCD_BIN=${ETCD_BIN:-etcd}
if [[ -z "${ETCDUTL_BIN:-}" ]]; then
  if command -v etcdutl >/dev/null 2>&1; then ETCDUTL_BIN=etcdutl; else ETCDUTL_BIN=$ETCDCTL_BIN; fi
fi
export ETCDCTL_API=3

# `etcdctl` against endpoint $1.
ectl() { local endpoint=$1; shift; "$ETCDCTL_BIN" --endpoints="$endpoint" "$@"; }

# The number of keys at revision $2 on endpoint $1 (RangeResponse.count: the whole range's count,
# whatever the limit), so the count is that of exactly the snapshot's revision.
etcd_key_count() {
  local out count
  out=$(ectl "$1" get "" --prefix --limit=1 --rev="$2" -w json) || return 1
  count=$(printf '%s\n' "$out" | grep -o '"count":[0-9]*' | cut -d: -f2)
  # An empty range omits the field.
  printf '%s\n' "${count:-0}"
}

# The snapshot file $1 is whole: etcd appends the sha256 of the database to a snapshot (the file is
# then 32 bytes past a multiple of the 512-byte page size), the same hash `snapshot restore`
# verifies. `snapshot status` alone reads only the pages it needs and passes a file cut short.
etcd_snapshot_hash_ok() {
  local file=$1 size want got
  size=$(stat -c %s "$file")
  (( size % 512 == 32 )) || { log "$file ($size bytes) carries no sha256 trailer: cut short or not a snapshot"; return 1; }
  want=$(tail -c 32 "$file" | od -An -v -tx1 | tr -d ' \n')
  got=$(head -c $((size - 32)) "$file" | sha256sum | cut -d ' ' -f 1)
  [[ "$want" == "$got" ]] || { log "$file: sha256 $got does not match its trailer $want"; return 1; }
}

# `revision` of the snapshot file $1 by `snapshot status` (which also checks that it is readable).
etcd_snapshot_revision() {
  local out rev
  etcd_snapshot_hash_ok "$1" || return 1
  out=$("$ETCDUTL_BIN" snapshot status "$1" -w json 2>/dev/null) || { log "snapshot status refused $1"; return 1; }
  rev=$(printf '%s\n' "$out" | grep -o '"revision":[0-9]*' | cut -d: -f2)
  [[ "$rev" =~ ^[0-9]+$ ]] || { log "snapshot status printed no revision for $1: $out"; return 1; }
  printf '%s\n' "$rev"
}

# The promoted etcd snapshot to use ($2: id or "latest") of repository $1; prints its JSON line.
etcd_snapshot_line() {
  local repo=$1 wanted=$2 line
  if [[ "$wanted" == latest ]]; then
    line=$(restic_snapshots "$repo" etcd | tail -n 1)
  else
    line=$(restic_snapshots "$repo" etcd | grep "\"id\":\"$wanted" | tail -n 1 || true)
  fi
  [[ -n "$line" ]] || die "no promoted etcd snapshot '$wanted' (tag etcd) of host $BACKUP_HOST in $repo"
  printf '%s\n' "$line"
}

