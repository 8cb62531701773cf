#!/usr/bin/env bash
# Point-in-time restore of the whole server from a physical full (format=physical) onto the
# primary's data volume, mounted read-write at the parent of MYSQL_DATA_DIR. The StatefulSets are
# scaled to 0 first (the runbook); no server runs on the volume. Two phases, one Job:
#
#   mysql-physical-restore.sh extract [--target-time <RFC 3339> | latest] [--allow-gaps]
#     (init step, XtraBackup image) Everything is checked before anything is touched, as
#     mysql-restore.sh does (plan_restore): the newest physical full at or before the target, its
#     archive chain reaching the target without a gap (--allow-gaps replays across one); a refusal
#     names the restorable range. The binary logs needed are read from the archive and decoded into
#     SCRATCH_DIR. Then the full is streamed out of the repository into xbstream (MariaDB: mbstream),
#     unpacked into <MYSQL_DATA_DIR>.restore beside the data directory (a leftover of an earlier,
#     failed run is removed first) and prepared (`--prepare`, must end `completed OK!`).
#   mysql-physical-restore.sh apply
#     (main container, mysql image) What belonged to replica 0 goes (forget_replica: server_uuid,
#     persisted super_read_only, relay logs and replication settings, its binary log files); a
#     private mysqld on the copy (socket only, no network, replication not started), RESET REPLICA
#     ALL, the archived binary logs replayed from the full's coordinates to the target (every
#     database: the copy is the whole server), a clean shutdown; then the existing data directory is
#     moved aside to <MYSQL_DATA_DIR>.pre-restore-<time> (never deleted: delete it once the restore
#     is accepted) and the copy renamed into its place.
#
# The volume needs room for the restored copy beside the existing data directory.
#
# The replicas hold data the restored primary does not have (or the same transactions under other
# GTIDs): they must be copied again. Delete their claims and scale them up: each new replica copies
# the primary (replication.sh). Replica 0 then starts a new binary-log numbering, a new archive chain:
# take a full backup once it is ready.
#
# Environment: see mysql-backup-lib.sh (MYSQL_BACKUP_USER, MYSQL_PWD: root's password, which the
# copy carries; RESTIC_REPOSITORY, ARCHIVE_REPOSITORY), restic.sh, and MYSQL_DATA_DIR (the data
# directory on the mounted volume), SCRATCH_DIR (the decoded binary logs and the plan, shared by the
# two phases), MYSQLD, SCRATCH_MYSQLD_OPTIONS, SCRATCH_START_SECONDS, PREPARE_MEMORY [256M].
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

usage() { die "usage: $0 extract [--target-time <RFC 3339 time, e.g. 2025-03-01T12:00:00Z> | latest] [--allow-gaps] | $0 apply"; }
phase="${1:-}"
[ $# -gt 0 ] && shift
restore_arguments "$@"
target="$RESTORE_TARGET"
allow_gaps="$RESTORE_ALLOW_GAPS"
require MYSQL_DATA_DIR SCRATCH_DIR
state="$SCRATCH_DIR/mysql-physical-restore"
staging="$MYSQL_DATA_DIR.restore"
started=$(now_us)

extract() {
  parse_target "$target"
  require RESTIC_REPOSITORY ARCHIVE_REPOSITORY
  [ -d "$(dirname "$MYSQL_DATA_DIR")" ] || die "the data volume is not mounted at $(dirname "$MYSQL_DATA_DIR")"
  open_repository "$RESTIC_REPOSITORY"
  open_repository "$ARCHIVE_REPOSITORY"
  detect_flavour
  plan_restore "$TARGET_EPOCH" "$allow_gaps" physical
  log "restoring the server to ${TARGET_TEXT}: physical full backup $RESTORE_FULL_ID ($(epoch_text "$RESTORE_FULL_TIME")), then $RESTORE_USE archived binary logs of chain ${PLAN_CHAIN:-(none)} from position $RESTORE_POSITION"
  rm -rf "$state"
  mkdir -p "$state/binlogs"
  fetch_binlogs "$state/binlogs" "$RESTORE_USE" >"$state/files.list"
  printf '%s\n' "${RESTORE_STOP_OPTIONS[@]}" >"$state/stop-options"
  # From here on the volume is written to; the data directory itself only by apply.
  rm -rf "$staging" "$staging.prepare.log"
  extract_prepare "$RESTORE_FULL_ID" "$staging"
  printf 'full=%s\nposition=%s\ntarget=%s\n' "$RESTORE_FULL_ID" "$RESTORE_POSITION" "$TARGET_TEXT" >"$state/plan"
  log "physical full backup $RESTORE_FULL_ID unpacked and prepared in $staging in $(( ($(now_us) - started) / 1000000 ))s"
}

apply() {
  local full position target_text files=() stop_options=() options=() aside
  { [ -s "$state/plan" ] && [ -d "$staging" ]; } || die "no prepared copy in $staging: the extract phase runs first (the Job's init step)"
  full="$(sed -n 's/^full=//p' "$state/plan")"
  position="$(sed -n 's/^position=//p' "$state/plan")"
  target_text="$(sed -n 's/^target=//p' "$state/plan")"
  mapfile -t files <"$state/files.list"
  mapfile -t stop_options < <(grep -v '^$' "$state/stop-options" || true)
  detect_flavour
  server_flavour
  # Once the copy has been written to, it is no longer the prepared full: a failure from here on
  # needs the whole Job again.
  rm -f "$state/plan"
  forget_replica "$staging"
  mapfile -t options < <("${SERVER_FLAVOUR}_copy_options")
  trap 'private_server_stop || true' EXIT
  private_server_start "$staging" "$state/server" "$MYSQL_BACKUP_USER" "${MYSQL_PWD:-}" "${options[@]}"
  "${SERVER_FLAVOUR}_reset_replica_sql" | target_sql || die "resetting the copy's replication settings failed"
  REPLAY_DATABASE=
  if [ "${#files[@]}" -gt 0 ]; then replay_binlogs "$position" "${files[@]}" -- "${stop_options[@]}"; fi
  private_server_stop || die "the server on the restored copy did not shut down cleanly: $(tail -n 20 "$state/server/server.log")"
  trap - EXIT
  if [ -e "$MYSQL_DATA_DIR" ]; then
    aside="$MYSQL_DATA_DIR.pre-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$MYSQL_DATA_DIR" "$aside"
    log "moved the existing data directory aside to $aside: delete it once the restore is accepted"
  fi
  mv "$staging" "$MYSQL_DATA_DIR"
  rm -rf "$state"
  log "restored the server to $target_text from physical full backup $full into $MYSQL_DATA_DIR in $(( ($(now_us) - started) / 1000000 ))s; copy the replicas again (delete their claims), then take a full backup"
}

case "$phase" in
  extract) extract ;;
  # The target was fixed by extract.
  apply) if [ -n "$allow_gaps" ] || [ "$target" != latest ]; then usage; fi; apply ;;
  *) usage ;;
esac
