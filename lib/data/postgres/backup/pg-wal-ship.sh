#!/usr/bin/env bash
# The WAL shipper: a sidecar of each PostgreSQL pod (store image, uid 999, the data volume and the
# scripts mounted). Every SHIP_INTERVAL_SECONDS it backs up what pg-wal-archive.sh put in the spool
# to ARCHIVE_REPOSITORY and deletes from the spool only what is in a promoted snapshot:
#   - one snapshot per contiguous run of segments of one timeline, tagged
#     `wal tli=<n> first=<segment> last=<segment> count=<n> last-commit=<time>`; last-commit is the
#     time of the run's last commit or abort (pg_waldump), what a restore needs to know whether a
#     target time is reachable;
#   - one snapshot `wal meta` for timeline histories, backup histories and .partial files.
# Batches rather than one snapshot per segment: a busy server makes hundreds of segments an hour,
# and every restore lists all snapshots.
#
# Usage: pg-wal-ship.sh [--once]     --once: one pass, exit non-zero if it failed (tests, drains)
#
# Failing keeps the files in the spool (nothing is lost) and the shipper keeps trying every
# interval; it never exits for it: in Kubernetes 1.27 a sidecar that restarts (or waits in
# CrashLoopBackOff) makes the whole pod unready, and the primary would leave its Service because its
# backups fail. The failure shows where the alerting sees it instead: once the oldest spool file is
# WAL_SPOOL_MAX_AGE_SECONDS old, pg-wal-archive.sh refuses new WAL, which PostgreSQL counts in
# pg_stat_archiver (alert WalShippingFailing). Every pass logs the backlog.
#
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   ARCHIVE_REPOSITORY       where WAL goes                                   [required]
#   WAL_SPOOL_DIR            the spool         [/var/lib/postgresql/data/wal-spool]
#   SHIP_INTERVAL_SECONDS    seconds between passes                           [60]
#   SHIPPER_HEARTBEAT        file touched at start and after every pass that finished (shipped
#                            or failed), for a liveness probe: a pass hung on the object store
#                            stops touching it                                 [none]
#   PATH                     must hold pg_waldump (the image's PATH does)
set -euo pipefail
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

require ARCHIVE_REPOSITORY
WAL_SPOOL_DIR="${WAL_SPOOL_DIR:-/var/lib/postgresql/data/wal-spool}"
SHIP_INTERVAL_SECONDS="${SHIP_INTERVAL_SECONDS:-60}"
[[ "$SHIP_INTERVAL_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "SHIP_INTERVAL_SECONDS '$SHIP_INTERVAL_SECONDS' must be a positive number"
once=0
case "${1:-}" in
  --once) once=1 ;;
  '') ;;
  *) die "usage: pg-wal-ship.sh [--once]" ;;
esac

mkdir -p "$WAL_SPOOL_DIR"

# The newest commit/abort time in segments $@ (spool file names, newest last), as UTC text; '' when
# none holds one. Scans from the newest back and stops at the first segment with one.
last_commit_time() {
  local i seg out time
  for (( i = $#; i >= 1; i-- )); do
    seg="${!i}"
    # pg_waldump exits non-zero at the end of a segment that was switched early (the rest is zeros)
    # or whose last record continues in the next file: only its records matter here.
    out="$(TZ=UTC pg_waldump --rmgr=Transaction --path="$WAL_SPOOL_DIR" "$seg" "$seg" 2>/dev/null)" || true
    time="$(printf '%s\n' "$out" | sed -n 's/.*desc: \(COMMIT\|ABORT\|COMMIT_PREPARED\|ABORT_PREPARED\) \([0-9-]* [0-9:.]*\) UTC.*/\2/p' | tail -n 1)"
    if [ -n "$time" ]; then utc_time "$time UTC"; return 0; fi
  done
  return 0
}

# Backs up files $3... of the spool as one snapshot with tags $2 (space-separated) and removes them.
ship() {
  local what="$1" tags="$2" id tag; shift 2
  local promote=()
  for tag in $tags; do promote+=("$tag"); done
  id="$(cd "$WAL_SPOOL_DIR" && restic_backup_paths "$ARCHIVE_REPOSITORY" wal-spool "$@")" || { log "backing up $what failed"; return 1; }
  if ! restic_promote "$ARCHIVE_REPOSITORY" "$id" "${promote[@]}"; then
    restic_discard "$ARCHIVE_REPOSITORY" "$id"
    log "promoting snapshot $id of $what failed"
    return 1
  fi
  (cd "$WAL_SPOOL_DIR" && rm -f -- "$@")
  sync "$WAL_SPOOL_DIR"
  log "shipped $what as snapshot $id"
}

# One pass: every file in the spool now.
ship_once() {
  local files=() meta=() run=() file tli no prev_tli='' prev_no=-2 status=0 commit
  while IFS= read -r file; do files+=("$file"); done < <(cd "$WAL_SPOOL_DIR" && find . -maxdepth 1 -type f ! -name '.*' -printf '%f\n' | LC_ALL=C sort)
  [ "${#files[@]}" -gt 0 ] || return 0
  flush_run() {
    [ "${#run[@]}" -gt 0 ] || return 0
    commit="$(last_commit_time "${run[@]}")"
    ship "segments ${run[0]}..${run[-1]}" "wal tli=$prev_tli first=${run[0]} last=${run[-1]} count=${#run[@]}${commit:+ last-commit=$commit}" "${run[@]}" || status=1
    run=()
  }
  for file in "${files[@]}"; do
    if is_segment "$file"; then
      tli="$(segment_tli "$file")"; no="$(segment_number "$file")"
      # A new timeline or a missing segment ends the run: batches are contiguous by construction.
      if [ "$tli" != "$prev_tli" ] || [ "$no" != $(( prev_no + 1 )) ]; then flush_run; fi
      run+=("$file"); prev_tli="$tli"; prev_no="$no"
    elif [[ "$file" =~ ^[0-9A-F]{8}([0-9A-F]{16}(\.partial|\.[0-9A-F]{8}\.backup)|\.history)$ ]]; then
      meta+=("$file")
    else
      log "ignoring $WAL_SPOOL_DIR/$file: not a WAL file name"
    fi
  done
  flush_run
  # History files after the segments: a restore that sees a new timeline's history finds its WAL.
  if [ "${#meta[@]}" -gt 0 ]; then
    ship "${#meta[@]} history/partial file(s)" "wal meta" "${meta[@]}" || status=1
  fi
  return "$status"
}

backlog() {
  local count bytes oldest
  read -r count bytes oldest < <(cd "$WAL_SPOOL_DIR" && find . -maxdepth 1 -type f ! -name '.*' -printf '%s %T@\n' |
    awk 'BEGIN { n = 0; b = 0; o = 0 } { n++; b += $1; if (o == 0 || $2 < o) o = $2 } END { printf "%d %d %d\n", n, b, o }')
  if [ "$count" -gt 0 ]; then
    log "spool backlog: $count file(s), $bytes bytes, oldest $(( $(date +%s) - oldest ))s old"
  else
    log "spool backlog: empty"
  fi
}

restic_prepare "$ARCHIVE_REPOSITORY" || { [ "$once" = 0 ] || die "cannot reach $ARCHIVE_REPOSITORY: the files stay in $WAL_SPOOL_DIR"; log "cannot reach $ARCHIVE_REPOSITORY yet"; }

if [ "$once" = 1 ]; then
  if ! ship_once; then backlog; die "shipping the WAL spool to $ARCHIVE_REPOSITORY failed; the files stay in $WAL_SPOOL_DIR"; fi
  backlog
  exit 0
fi

# SIGTERM (pod deletion): finish the pass under way, ship once more, and exit.
stopping=0
trap 'stopping=1' TERM INT
heartbeat() { [ -z "${SHIPPER_HEARTBEAT:-}" ] || touch "$SHIPPER_HEARTBEAT"; }
heartbeat
failures=0
while true; do
  if ship_once; then
    failures=0
  else
    failures=$(( failures + 1 ))
    log "pass failed ($failures in a row): the files stay in $WAL_SPOOL_DIR; trying again in ${SHIP_INTERVAL_SECONDS}s"
  fi
  heartbeat
  backlog
  [ "$stopping" = 0 ] || exit 0
  sleep "$SHIP_INTERVAL_SECONDS" & wait $! || true
  if [ "$stopping" = 1 ]; then ship_once || die "the last pass before stopping failed; the files stay in $WAL_SPOOL_DIR"; exit 0; fi
done
