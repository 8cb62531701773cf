#!/usr/bin/env bash
# etcd-restore.sh [snapshot|latest]: writes a new data directory for ONE etcd member from a
# promoted snapshot (`etcdutl snapshot restore`, which checks the snapshot's hash). Run once per
# member, with that member's name and the same cluster definition, while the StatefulSet is scaled
# to 0; the member's current data directory is moved aside (<dir>.pre-restore-<time>), never
# deleted. On start, etcd finds a data directory and ignores --initial-cluster-state=new.
#
# Environment (besides restic.sh's):
#   RESTIC_REPOSITORY           required: the Milvus store's repository
#   ETCD_DATA_DIR               required: the member's data directory (/var/lib/etcd/data in the pod)
#   ETCD_NAME                   the member's name, the pod name (default)
#   ETCD_INITIAL_CLUSTER        every member as name=peer-URL, comma-separated (default=http://localhost:2380)
#   ETCD_INITIAL_ADVERTISE_PEER_URLS  this member's peer URL (http://localhost:2380)
#   ETCD_CLUSTER_NAME           the cluster's name, its --initial-cluster-token (etcd-cluster): the
#                               StatefulSet uses its own name (ETCD_INITIAL_CLUSTER_TOKEN is read too)
#   ETCDUTL_BIN                 binary (etcdutl, or etcdctl where there is none)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../../../backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"
# shellcheck source=SCRIPTDIR/etcd-lib.sh
. "$(dirname "$0")/etcd-lib.sh"

wanted=${1:-latest}
[[ -n "${RESTIC_REPOSITORY:-}" ]] || die 'RESTIC_REPOSITORY is empty'
[[ -n "${ETCD_DATA_DIR:-}" ]] || die 'ETCD_DATA_DIR is empty'
name=${ETCD_NAME:-default}
cluster=${ETCD_INITIAL_CLUSTER:-default=http://localhost:2380}
peer_urls=${ETCD_INITIAL_ADVERTISE_PEER_URLS:-http://localhost:2380}
token=${ETCD_CLUSTER_NAME:-${ETCD_INITIAL_CLUSTER_TOKEN:-etcd-cluster}}
data=$ETCD_DATA_DIR
# etcd would also read these from the environment: the restore names them explicitly.
unset ETCD_NAME ETCD_INITIAL_CLUSTER ETCD_INITIAL_ADVERTISE_PEER_URLS ETCD_INITIAL_CLUSTER_TOKEN ETCD_CLUSTER_NAME ETCD_DATA_DIR

line=$(etcd_snapshot_line "$RESTIC_REPOSITORY" "$wanted")
id=$(snapshot_id "$line")
revision=$(snapshot_tag "$line" revision)
parent=$(dirname "$data")
[[ -d "$parent" && -w "$parent" ]] || die "$parent (the parent of ETCD_DATA_DIR) is not a writable directory"

start=$(now_us)
file="$parent/etcd-restore.db"
restic_in "$RESTIC_REPOSITORY" dump "$id" /etcd.db >"$file" || { rm -f "$file"; die "restic dump of etcd.db from $id failed"; }
got=$(etcd_snapshot_revision "$file") || { rm -f "$file"; die "etcd.db of $id is not a valid snapshot"; }
[[ "$got" == "$revision" ]] || { rm -f "$file"; die "etcd.db of $id is at revision $got but revision=$revision was recorded"; }
bytes=$(stat -c %s "$file")

staging="$parent/etcd-restore.new"
rm -rf "$staging"
"$ETCDUTL_BIN" snapshot restore "$file" --data-dir "$staging" --name "$name" --initial-cluster "$cluster" \
  --initial-cluster-token "$token" --initial-advertise-peer-urls "$peer_urls" >&2 || { rm -rf "$file" "$staging"; die "snapshot restore of $id failed"; }
rm -f "$file"
if [[ -e "$data" ]]; then
  aside="$data.pre-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$data" "$aside"
  log "the member's previous data directory is $aside (delete it once the restored cluster is verified)"
fi
mv "$staging" "$data"
log_throughput "restored snapshot $id (revision $revision) as member $name into $data" "$bytes" "$(( $(now_us) - start ))"
