#!/usr/bin/env bash
# PostgreSQL's archive_command: `archive_command = '/backup/scripts/pg-wal-archive.sh %p %f'`.
# Copies one finished WAL file (segment, timeline history, backup history, .partial) durably into
# the spool directory on the data volume, from where the shipper sidecar (pg-wal-ship.sh) uploads it.
# Local on purpose: a slow or unreachable object store never holds up the archiver, and a file
# reported archived (exit 0) is on disk (fsync'd, renamed into place) before PostgreSQL may recycle it.
#
# PostgreSQL runs it with the data directory as working directory; %p is relative to it.
# Exit 0 only when the file is in the spool; non-zero makes PostgreSQL keep the file and retry.
# A spool file of the same name with different content is never overwritten (two servers archiving
# into one spool, or a restored cluster on a reused timeline): that is an error to look at.
#
# A spool whose oldest file is older than WAL_SPOOL_MAX_AGE_SECONDS means the shipper has been
# failing for that long (it empties the spool every minute): the file is refused, so PostgreSQL
# keeps it in pg_wal and counts the failure in pg_stat_archiver (failed_count, which the
# WalShippingFailing alert reads) rather than reporting WAL archived that is not off-site. Nothing
# is lost either way: the WAL waits on the same volume and is archived once the shipper catches up.
#
# Environment:
#   WAL_SPOOL_DIR              the spool   [$PWD/../wal-spool: beside PGDATA on the data volume]
#   WAL_SPOOL_MAX_AGE_SECONDS  age of the oldest spool file from which new files are refused  [3600]
set -euo pipefail

die() { printf 'pg-wal-archive: ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: pg-wal-archive.sh <path (%p)> <file name (%f)>"
source_file="$1"
name="$2"
spool="${WAL_SPOOL_DIR:-$PWD/../wal-spool}"

# Only WAL file names: the name becomes a path in the spool.
[[ "$name" =~ ^[0-9A-F]{8}([0-9A-F]{16}(\.partial|\.[0-9A-F]{8}\.backup)?|\.history)$ ]] || die "'$name' is not a WAL file name"
[ -f "$source_file" ] || die "$source_file does not exist"

mkdir -p "$spool"
max_age="${WAL_SPOOL_MAX_AGE_SECONDS:-3600}"
[[ "$max_age" =~ ^[1-9][0-9]*$ ]] || die "WAL_SPOOL_MAX_AGE_SECONDS '$max_age' must be a positive number of seconds"
oldest="$(find "$spool" -maxdepth 1 -type f ! -name '.*' -printf '%T@\n' | awk 'NR == 1 || $1 < min { min = $1 } END { if (NR) printf "%d\n", min }')"
if [ -n "$oldest" ] && (( $(date +%s) - oldest > max_age )); then
  die "the oldest file in $spool is $(( $(date +%s) - oldest ))s old (limit ${max_age}s): the wal-shipper is not shipping; $name stays in pg_wal until it does (kubectl logs <pod> -c wal-shipper)"
fi
target="$spool/$name"
if [ -e "$target" ]; then
  # The server archives a file again when it crashed before recording the first success.
  if cmp -s "$source_file" "$target"; then exit 0; fi
  die "$target already exists with different content: refusing to overwrite it (is another server archiving into $spool?)"
fi

# Dot files are ignored by the shipper; one left by a crash mid-copy is replaced here.
temp="$spool/.$name.tmp"
rm -f "$temp"
cp "$source_file" "$temp"
sync "$temp"
mv "$temp" "$target"
# The rename is durable only once the directory is.
sync "$spool"
