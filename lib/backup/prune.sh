#!/usr/bin/env bash
# Weekly, off-peak: frees the space of the snapshots the backup jobs' retention forgot, in the
# store's repository and, where it has one, its archive repository. Prune takes restic's exclusive
# lock; archivers and backups that start meanwhile wait for it (restic_in), they do not fail.
set -euo pipefail
# shellcheck source=lib/backup/restic.sh
. "${BACKUP_LIB:-$(dirname "$0")/restic.sh}"

for repo in "$RESTIC_REPOSITORY" ${ARCHIVE_REPOSITORY:+"$ARCHIVE_REPOSITORY"}; do
  restic_prepare "$repo"
  started=$(date +%s)
  restic_prune "$repo"
  log "pruned $repo in $(( $(date +%s) - started ))s"
done
