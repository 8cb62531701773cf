#!/usr/bin/env bash
# Weekly integrity check: `restic check` with a rotating data subset of both repositories (every
# pack is read once every VERIFY_DATA_PARTS weeks), then PostgreSQL's own check of the newest base
# backup whose WAL is archived: extracted into SCRATCH_DIR with the archived WAL from its start to its
# end, `pg_verifybackup` checks every file against backup_manifest (sizes, CRC32C checksums) and
# parses that WAL (`--wal-directory`), which proves the archive holds what the base needs to become
# consistent. A volume base (pg-volume-backup.sh) has no manifest: a scratch server recovers it to
# consistency with that WAL, and pg_checksums checks every page. Every check runs; the exit status is
# non-zero if any failed.
#
# Usage: pg-verify.sh
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   RESTIC_REPOSITORY, ARCHIVE_REPOSITORY                                                 [required]
#   SCRATCH_DIR         empty, writable, room for one base backup                          [required]
#   VERIFY_DATA_PARTS   restic check --read-data-subset n/VERIFY_DATA_PARTS                 [4]
#   PATH                must hold pg_verifybackup, pg_waldump, pg_ctl, postgres, pg_checksums (the image's does)
set -euo pipefail
umask 077
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

require RESTIC_REPOSITORY ARCHIVE_REPOSITORY SCRATCH_DIR
VERIFY_DATA_PARTS="${VERIFY_DATA_PARTS:-4}"
[[ "$VERIFY_DATA_PARTS" =~ ^[1-9][0-9]*$ ]] || die "VERIFY_DATA_PARTS '$VERIFY_DATA_PARTS' must be a positive number"
[ $# -eq 0 ] || die "usage: pg-verify.sh (no arguments)"
[ -d "$SCRATCH_DIR" ] || die "SCRATCH_DIR $SCRATCH_DIR does not exist"

failed=()
for repo in "$RESTIC_REPOSITORY" "$ARCHIVE_REPOSITORY"; do
  if ! { restic_prepare "$repo" && restic_verify "$repo" "$VERIFY_DATA_PARTS"; }; then
    log "restic check of $repo FAILED"
    failed+=("restic check of $repo")
  fi
done

work="$SCRATCH_DIR/pg-verify"
rm -rf "${work:?}"
trap 'rm -rf "${work:?}"' EXIT
# In a subshell: a `die` inside (no base, a failed download) is one more failure, not the end.
if ! (
  plan_restore base '' 0
  started=$(now_us)
  extract_base "$work/base"
  fetch_wal "$work/wal"
  bytes="$(du -sb "$work/base" | awk '{ print $1 }')"
  if [ "$PLAN_BASE_FORMAT" = stream ]; then
    verify_base_files "$work/base" "$work/wal"
    log "pg_verifybackup: base backup $PLAN_BASE_ID ($PLAN_BASE_TIME) and its WAL $PLAN_BASE_START..$PLAN_BASE_END are intact"
  else
    # A volume base: recovered to consistency by a scratch server, stopped cleanly, pages checked.
    mkdir -p "$work/sock"
    start_recovery "$work/base" "$work/wal" "recovery_target = 'immediate'" "$work/sock"
    finish_recovery "$work/base"
    check_page_checksums "$work/base"
    log "volume base backup $PLAN_BASE_ID ($PLAN_BASE_TIME) recovers to consistency with its WAL $PLAN_BASE_START..$PLAN_BASE_END"
  fi
  log_throughput "verify (download and check of the base backup)" "$bytes" $(( $(now_us) - started ))
); then
  failed+=("pg_verifybackup of the newest base backup")
fi

[ "${#failed[@]}" -eq 0 ] || die "verify failed: $(IFS=';'; printf '%s' "${failed[*]}")"
log "verify passed: both repositories and the newest base backup"
