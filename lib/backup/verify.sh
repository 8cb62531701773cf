#!/usr/bin/env bash
# Weekly integrity check of a store's repositories where the engine has no check of its own
# beyond what the backup already ran (Redis: redis-check-rdb at backup time; etcd: the snapshot's
# sha256 trailer): restic's structure check plus a rotating subset of the data, so every pack is
# read within VERIFY_PARTS weeks. The monthly restore test loads the data itself.
set -euo pipefail
# shellcheck source=lib/backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"

VERIFY_PARTS="${VERIFY_PARTS:-4}"
for repo in "$RESTIC_REPOSITORY" ${ARCHIVE_REPOSITORY:+"$ARCHIVE_REPOSITORY"}; do
  restic_prepare "$repo"
  restic_verify "$repo" "$VERIFY_PARTS"
  log "verified $repo"
done
