#!/usr/bin/env bash
# Weekly integrity check: both repositories with `restic check --read-data-subset` (rotating, so
# every pack is read once every VERIFY_DATA_PARTS weeks), then the latest full dump itself: read
# whole from the repository (which also proves every one of its blobs decrypts), it must end with
# mysqldump's trailer and hold a CREATE TABLE for every table counted at backup time; and the
# archive chain from the latest full must have no gap (else point-in-time restores from it stop
# at the gap). Every check runs; any failure exits non-zero, naming all that failed.
#
# Arguments: none. Environment: see mysql-backup-lib.sh (RESTIC_REPOSITORY, ARCHIVE_REPOSITORY)
# and restic.sh, and VERIFY_DATA_PARTS, the rotation of restic's data check [4].
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

require RESTIC_REPOSITORY ARCHIVE_REPOSITORY
parts="${VERIFY_DATA_PARTS:-4}"
open_repository "$RESTIC_REPOSITORY"
open_repository "$ARCHIVE_REPOSITORY"
failed=()
restic_verify "$RESTIC_REPOSITORY" "$parts" || failed+=("restic check of $RESTIC_REPOSITORY")
restic_verify "$ARCHIVE_REPOSITORY" "$parts" || failed+=("restic check of $ARCHIVE_REPOSITORY")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
full="$(restic_snapshots "$RESTIC_REPOSITORY" full | tail -n 1)"
if [ -z "$full" ]; then
  failed+=("no full backup in $RESTIC_REPOSITORY")
else
  full_id="$(snapshot_id "$full")"
  started=$(date +%s)
  # grep exits 1 when nothing matched: the content is checked below.
  { restic_in "$RESTIC_REPOSITORY" dump --no-lock "$full_id" "$DUMP_FILE" \
      | grep -E '^(CREATE TABLE `|-- Dump completed)' >"$work/found"; status=("${PIPESTATUS[@]}"); } || true
  if [ "${status[0]}" -ne 0 ] || [ "${status[1]}" -gt 1 ]; then
    failed+=("reading the full backup $full_id (restic dump exited ${status[0]})")
  else
    snapshot_file_blobs "$RESTIC_REPOSITORY" "$full_id" /dev/null || true
    report_throughput "full backup $full_id read" "$SNAPSHOT_FILE_SIZE" $(( $(date +%s) - started ))
    tail -n 1 "$work/found" | grep -q '^-- Dump completed' || failed+=("the full backup $full_id does not end with mysqldump's trailer")
    # CREATE TABLE `name` (: mysqldump doubles a backtick inside a name.
    # shellcheck disable=SC2016 # the backticks are SQL's, not the shell's
    sed -n 's/^CREATE TABLE `\(.*\)` ($/\1/p' "$work/found" | sed 's/``/`/g' | sort -u >"$work/created"
    tag_value "$full" set; set_id="$REPLY"
    counts=
    while IFS= read -r line; do
      tag_value "$line" set
      if [ "$REPLY" = "$set_id" ]; then counts="$line"; fi
    done < <(restic_snapshots "$RESTIC_REPOSITORY" counts)
    if [ -z "$counts" ]; then
      failed+=("the full backup $full_id has no row counts")
    elif restic_in "$RESTIC_REPOSITORY" dump --no-lock "$(snapshot_id "$counts")" "$COUNTS_FILE" >"$work/counts"; then
      cut -f 1 "$work/counts" | sort -u >"$work/counted"
      missing="$(comm -23 "$work/counted" "$work/created" | paste -sd ' ' -)"
      [ -z "$missing" ] || failed+=("the full backup $full_id has no CREATE TABLE for: $missing")
    else
      failed+=("reading the row counts of $full_id")
    fi
  fi
  tag_value "$full" binlog-file; full_file="$REPLY"
  plan_chain "$full"
  if [ -n "$PLAN_CHAIN" ]; then
    contiguous_files "$(binlog_sequence "$full_file")"
    [ -z "$PLAN_GAP" ] || failed+=("the archive chain $PLAN_CHAIN after the full backup $full_id has a gap ($PLAN_GAP)")
  fi
fi

if [ "${#failed[@]}" -gt 0 ]; then
  for f in "${failed[@]}"; do log "FAILED: $f"; done
  die "verify failed: ${#failed[@]} check(s)"
fi
log "verify passed: both repositories, and the latest full backup $full_id is complete"
