#!/usr/bin/env bash
# etcd-restore-test.sh [snapshot|latest]: restores an etcd snapshot (default: the newest promoted)
# into SCRATCH_DIR, starts a scratch single-member etcd on it (loopback ports of its own), and
# compares the number of keys at the snapshot's revision with the count recorded when the snapshot
# was taken (tag keys=<n>). Exits non-zero on any difference; stops the scratch etcd.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY     required: the Milvus store's repository
#   SCRATCH_DIR           required: room for the snapshot and its restored data directory
#   ETCD_SCRATCH_CLIENT_PORT, ETCD_SCRATCH_PEER_PORT  the scratch etcd's loopback ports (23790, 23800)
#   ETCD_BIN, ETCDCTL_BIN, ETCDUTL_BIN  binaries
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/etcd-lib.sh
. "$(dirname "$0")/etcd-lib.sh"

wanted=${1:-latest}
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
client_port=${ETCD_SCRATCH_CLIENT_PORT:-23790}
peer_port=${ETCD_SCRATCH_PEER_PORT:-23800}
unset ETCDCTL_ENDPOINTS

restic_prepare "$RESTIC_REPOSITORY"
line=$(etcd_snapshot_line "$RESTIC_REPOSITORY" "$wanted")
id=$(snapshot_id "$line")
expected=$(snapshot_tag "$line" keys)
revision=$(snapshot_tag "$line" revision)
[[ "$expected" =~ ^[0-9]+$ && "$revision" =~ ^[0-9]+$ ]] || die "snapshot $id has no keys=/revision= tags"

work=$(mktemp -d "$SCRATCH_DIR/etcd-restore-test.XXXXXX")
etcd_pid=''
cleanup() {
  if [[ -n "$etcd_pid" ]]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start=$(now_us)
restic_in "$RESTIC_REPOSITORY" dump "$id" /etcd.db >"$work/etcd.db" || die "restic dump of etcd.db from $id failed"
bytes=$(stat -c %s "$work/etcd.db")
peer="http://127.0.0.1:$peer_port"
"$ETCDUTL_BIN" snapshot restore "$work/etcd.db" --data-dir "$work/data" --name scratch \
  --initial-cluster "scratch=$peer" --initial-advertise-peer-urls "$peer" >&2 || die "snapshot restore of $id failed"
"$ETCD_BIN" --name scratch --data-dir "$work/data" --listen-client-urls "http://127.0.0.1:$client_port" \
  --advertise-client-urls "http://127.0.0.1:$client_port" --listen-peer-urls "$peer" \
  >"$work/etcd.log" 2>&1 </dev/null &
etcd_pid=$!
endpoint="127.0.0.1:$client_port"
deadline=$(( $(date +%s) + 120 ))
until ectl "$endpoint" endpoint health >/dev/null 2>&1; do
  kill -0 "$etcd_pid" 2>/dev/null || { tail -n 20 "$work/etcd.log" >&2; die 'the scratch etcd exited'; }
  (( $(date +%s) < deadline )) || die 'the scratch etcd did not become healthy in 120 s'
  sleep 0.5
done
keys=$(etcd_key_count "$endpoint" "$revision") || die "could not count the keys at revision $revision in the scratch etcd"
log_throughput "restore test of $id" "$bytes" "$(( $(now_us) - start ))"
[[ "$keys" == "$expected" ]] || die "the restored etcd holds $keys keys at revision $revision but $expected were recorded at snapshot time"
log "restore test of snapshot $id passed: $keys keys at revision $revision, as recorded"
