#!/usr/bin/env bash
# Restores the PostgreSQL store to a point in time: run as a Job on the primary's volume while the
# StatefulSet is scaled to 0 (README runbook).
#
#   1. validates the target against the repositories BEFORE touching anything: after the end of the
#      oldest base backup, before the last archived commit, no gap in the WAL segments from the
#      base's start up to the target; otherwise it refuses with a message naming the archived range;
#   2. moves an existing data directory aside to <data dir>.pre-restore-<time> (never deletes it:
#      delete it once the restore is accepted, the volume needs the room);
#   3. extracts the newest base backup that ended before the target into <data dir>.restoring and
#      fetches the WAL batches it needs into RESTORE_WAL_DIR;
#   4. runs archive recovery itself with a private server (Unix socket only): recovery_target_time
#      (or everything archived for `latest`), recovery_target_action = promote. It checks in the log
#      that PostgreSQL stopped at the target (or replayed the whole archive), stops the server,
#      removes the recovery settings and renames the directory into place. The pod then starts a
#      promoted cluster on a new timeline, which it archives like any other.
#
# Usage: pg-restore.sh [--target-time <RFC 3339 time>|latest] [--allow-gaps] [<data dir>]
#   --target-time   the last moment whose commits come back; default latest (all archived WAL)
#   --allow-gaps    restore across nothing: stop at a gap in the archive instead of refusing
#   <data dir>      default $PGDATA (/var/lib/postgresql/data/pgdata)
# Environment (besides restic.sh's and pg-backup-lib.sh's):
#   RESTIC_REPOSITORY, ARCHIVE_REPOSITORY                                                 [required]
#   RESTORE_WAL_DIR            where the WAL is fetched to (room for the WAL from the base to the
#                              target)                                  [<data dir>/../wal-restore]
#   RECOVERY_TIMEOUT_SECONDS   how long replay may take                                   [7200]
#   RESTORE_SHARED_BUFFERS     shared_buffers of the recovering server                    [128MB]
#   PATH                       must hold pg_ctl, postgres (the image's PATH does)
set -euo pipefail
umask 077
# shellcheck source=lib/data/postgres/backup/pg-backup-lib.sh
. "$(dirname "$0")/pg-backup-lib.sh"

usage() { die "usage: pg-restore.sh [--target-time <RFC 3339 time>|latest] [--allow-gaps] [<data dir>]"; }
target_time=latest
allow_gaps=0
data=''
while [ $# -gt 0 ]; do
  case "$1" in
    --target-time) [ $# -ge 2 ] || usage; target_time="$2"; shift 2 ;;
    --allow-gaps) allow_gaps=1; shift ;;
    -*) usage ;;
    *) [ -z "$data" ] || usage; data="$1"; shift ;;
  esac
done
data="${data:-${PGDATA:-/var/lib/postgresql/data/pgdata}}"
data="${data%/}"
require RESTIC_REPOSITORY ARCHIVE_REPOSITORY
wal_dir="${RESTORE_WAL_DIR:-$(dirname "$data")/wal-restore}"

kind=latest
target=''
if [ "$target_time" != latest ]; then
  kind='time'
  target="$(utc_time "$target_time")" || die "--target-time '$target_time' is not a time (RFC 3339, e.g. 2024-05-01T12:00:00Z)"
fi

# 1. Validation: reads only.
restic_prepare "$RESTIC_REPOSITORY"
restic_prepare "$ARCHIVE_REPOSITORY"
plan_restore "$kind" "$target" "$allow_gaps"
recovery_target=''
if [ "$kind" = time ] && [ -z "$PLAN_GAP" ]; then
  # PostgreSQL's own spelling: it does not take RFC 3339's T and Z here.
  recovery_target="recovery_target_time = '$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00')'"
fi
[ -d "$(dirname "$data")" ] || die "$(dirname "$data") does not exist: is the store's volume mounted?"

# 2. From here on the volume changes.
if [ -e "$data" ] && [ -n "$(ls -A "$data")" ]; then
  [ -f "$data/postmaster.pid" ] && die "$data/postmaster.pid exists: is the server still running? Scale the StatefulSet to 0 first"
  aside="$data.pre-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$data" "$aside"
  log "moved the existing data directory aside to $aside: delete it once the restore is accepted"
elif [ -e "$data" ]; then
  rmdir "$data"
fi
staging="$data.restoring"
rm -rf "${staging:?}" "${wal_dir:?}"

started=$(now_us)
extract_base "$staging"
fetch_wal "$wal_dir"
fetched=$(now_us)
bytes="$(du -sb "$staging" "$wal_dir" | awk '{ s += $1 } END { printf "%d", s }')"
log_throughput "restore download (base $PLAN_BASE_ID + WAL)" "$bytes" $(( fetched - started ))

sock="$(mktemp -d "${TMPDIR:-/tmp}/pg-restore.XXXXXX")"
trap 'pg_ctl -D "$staging" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$sock"' EXIT
start_recovery "$staging" "$wal_dir" "$recovery_target" "$sock"
finish_recovery "$staging"
# The recovering server ran with archive_mode off, so the history file of the timeline it created
# was never archived; without it a later restore would not know the timeline and would replay the
# old one's WAL past this restore's target. Marked ready, the pod's archiver archives it at start.
for history in "$staging"/pg_wal/*.history; do
  [ -e "$history" ] || continue
  status="$staging/pg_wal/archive_status/$(basename "$history")"
  [ -e "$status.done" ] || [ -e "$status.ready" ] || touch "$status.ready"
done
trap 'rm -rf "$sock"' EXIT
mv "$staging" "$data"
rm -rf "${wal_dir:?}"
log_throughput "restore (download and replay)" "$bytes" $(( $(now_us) - started ))
log "restored $data from base backup $PLAN_BASE_ID to ${target:-the end of the archive} ($(grep -h -o 'recovery stopping.*\|last completed transaction.*' "$sock/server.log" | tail -n 1))"
