#!/usr/bin/env bash
# Weekly integrity check: both repositories with `restic check --read-data-subset` (rotating, so
# every pack is read once every VERIFY_DATA_PARTS weeks), then the latest full dump itself: read
# whole from the repository (which also proves every one of its blobs decrypts), it must end with
# mysqldump's trailer and hold a CREATE TABLE for every table counted at backup time; and the
# archive chain from the latest full must have no gap (else point-in-time restores from it stop
# at the gap). Every check runs; any failure exits non-zero, naming all that failed.
#
# A physical full (format=physical; the job then runs in the XtraBackup image) is read whole the way
# a restore reads it: unpacked into SCRATCH_DIR and prepared (`--prepare` must end `completed OK!`),
# and every counted table of a plain name ([A-Za-z0-9_]) must have its `.ibd` file.
#
# Arguments: none. Environment: see mysql-backup-lib.sh (RESTIC_REPOSITORY, ARCHIVE_REPOSITORY)
# (and MYSQL_DATABASE for a physical full) and restic.sh, VERIFY_DATA_PARTS, the rotation of restic's data check [4], and SCRATCH_DIR (physical
# fulls: room for one unpacked copy).
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
unpacked="${SCRATCH_DIR:-$work}/mysql-verify"
trap 'rm -rf "$work" "$unpacked" "$unpacked.prepare.log"' EXIT
full="$(restic_snapshots "$RESTIC_REPOSITORY" full | tail -n 1)"

# counts_of FULL_LINE: the counts of the full's set into $work/counts, or fails naming why.
counts_of() {
  local counts='' line set_id
  tag_value "$1" set; set_id="$REPLY"
  while IFS= read -r line; do
    tag_value "$line" set
    if [ "$REPLY" = "$set_id" ]; then counts="$line"; fi
  done < <(restic_snapshots "$RESTIC_REPOSITORY" counts)
  if [ -z "$counts" ]; then failed+=("the full backup $full_id has no row counts"); return 1; fi
  restic_in "$RESTIC_REPOSITORY" dump --no-lock "$(snapshot_id "$counts")" "$COUNTS_FILE" >"$work/counts" \
    || { failed+=("reading the row counts of $full_id"); return 1; }
}

if [ -z "$full" ]; then
  failed+=("no full backup in $RESTIC_REPOSITORY")
elif [ "$(full_format "$full")" = physical ]; then
  require MYSQL_DATABASE
  full_id="$(snapshot_id "$full")"
  detect_flavour
  rm -rf "$unpacked"
  # In a subshell: extract_prepare dies on a failure, which is one failed check here.
  if (extract_prepare "$full_id" "$unpacked"); then
    if counts_of "$full"; then
      no_file=()
      while IFS=$'\t' read -r table _; do
        [[ $table =~ ^[A-Za-z0-9_]+$ ]] || continue
        [ -f "$unpacked/$MYSQL_DATABASE/$table.ibd" ] || no_file+=("$table")
      done <"$work/counts"
      [ "${#no_file[@]}" -eq 0 ] || failed+=("the physical full backup $full_id has no data file for: ${no_file[*]}")
    fi
  else
    failed+=("unpacking and preparing the physical full backup $full_id")
  fi
  rm -rf "$unpacked"
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
    if counts_of "$full"; then
      cut -f 1 "$work/counts" | sort -u >"$work/counted"
      missing="$(comm -23 "$work/counted" "$work/created" | paste -sd ' ' -)"
      [ -z "$missing" ] || failed+=("the full backup $full_id has no CREATE TABLE for: $missing")
    fi
  fi
fi
if [ -n "$full" ]; then
  full_id="$(snapshot_id "$full")"
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
