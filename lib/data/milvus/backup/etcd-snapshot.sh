#!/usr/bin/env bash
# etcd-snapshot.sh: a snapshot of Milvus's etcd (its metadata: collections, segments, indexes) into
# the repository, tag `etcd`, kept KEEP_FULL_DAYS.
#
# `etcdctl snapshot save` from one healthy member (a snapshot needs exactly one endpoint; any
# member's committed state is the cluster's), then `snapshot status` (the file is a complete bolt
# database; etcdctl already checked the sha256 the server appended), then the number of keys AT THE
# SNAPSHOT'S REVISION read from the same member (`get --rev`: consistent with the file, unlike a
# count taken a moment before or after), recorded as tags keys=<n> and revision=<r> for the
# restore test. Only then is the snapshot promoted.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY   required: the Milvus store's repository
#   ETCDCTL_ENDPOINTS   required: the members' client URLs, comma-separated
#   SCRATCH_DIR         required: room for one snapshot (the etcd database size, <= its 4 GiB quota)
#   KEEP_FULL_DAYS      retention in days (30)
#   ETCDCTL_BIN, ETCDUTL_BIN  binaries (etcdctl; etcdutl, or etcdctl where there is none)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/etcd-lib.sh
. "$(dirname "$0")/etcd-lib.sh"

[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${ETCDCTL_ENDPOINTS:-}" ]] || die 'ETCDCTL_ENDPOINTS is empty'
[[ -n "${SCRATCH_DIR:-}" && -d "$SCRATCH_DIR" && -w "$SCRATCH_DIR" ]] || die "SCRATCH_DIR '${SCRATCH_DIR:-}' is not a writable directory"
keep_days=${KEEP_FULL_DAYS:-30}
# etcdctl reads ETCDCTL_ENDPOINTS itself; the commands below name one endpoint explicitly.
IFS=, read -r -a endpoints <<<"$ETCDCTL_ENDPOINTS"
unset ETCDCTL_ENDPOINTS

restic_prepare "$RESTIC_REPOSITORY"
work=$(mktemp -d "$SCRATCH_DIR/etcd-snapshot.XXXXXX")
trap 'rm -rf "$work"' EXIT

endpoint=''
for candidate in "${endpoints[@]}"; do
  if ectl "$candidate" endpoint health >/dev/null 2>&1; then endpoint=$candidate; break; fi
  log "$candidate is not healthy; trying the next member"
done
[[ -n "$endpoint" ]] || die "no member of ${endpoints[*]} is healthy"

start=$(now_us)
ectl "$endpoint" snapshot save "$work/etcd.db" >&2 || die "etcdctl snapshot save from $endpoint failed"
revision=$(etcd_snapshot_revision "$work/etcd.db") || die "the snapshot from $endpoint is not a valid etcd database"
keys=$(etcd_key_count "$endpoint" "$revision") || die "could not count the keys at revision $revision on $endpoint (compacted already?)"
bytes=$(stat -c %s "$work/etcd.db")
log_throughput "snapshot of $endpoint at revision $revision ($keys keys)" "$bytes" "$(( $(now_us) - start ))"

id=$(cd "$work" && restic_backup_paths "$RESTIC_REPOSITORY" etcd-upload etcd.db) || die 'restic backup of the etcd snapshot failed'
if ! restic_promote "$RESTIC_REPOSITORY" "$id" etcd "keys=$keys" "revision=$revision"; then
  restic_discard "$RESTIC_REPOSITORY" "$id"
  die "could not promote snapshot $id"
fi
log_throughput "etcd backup $id" "$bytes" "$(( $(now_us) - start ))"
restic_forget_older "$RESTIC_REPOSITORY" etcd "$keep_days"
log "done: snapshot $id"
