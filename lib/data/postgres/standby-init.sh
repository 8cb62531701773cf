#!/usr/bin/env bash
# Prepares the data directory of a PostgreSQL streaming hot standby. Runs as an init container of
# each standby pod (image postgres:14.x, uid 999) before the server starts, on every start:
#
#   - PGDATA holds a standby (standby.signal): nothing is copied. The connection to the primary
#     (primary_conninfo, primary_slot_name in postgresql.auto.conf) is rewritten only when it
#     changed, so the server resumes streaming from where it stopped. First it asks the primary
#     whether it still has the WAL this standby needs (the newest segment in pg_wal): when the
#     primary answers "requested WAL segment ... has already been removed" (its slot was invalidated
#     by max_slot_wal_keep_size while the standby was away), the standby could never catch up, so
#     its copy is discarded and it is cloned again. Any other answer (primary unreachable, ...)
#     starts the server as it is: it stays unready until it streams (probe.sh ready standby);
#   - PGDATA holds a cluster without standby.signal: it was promoted. Split-brain rule: a standby
#     pod never starts as a primary, because the primary pod may take writes at the same time. The
#     start is refused, the data left untouched, and the message names the fix (delete the claim to
#     clone the primary again; copy the data out first if the promoted server's writes matter);
#   - no cluster yet: waits for the primary, (re)creates this standby's slot over the replication
#     connection (so that a slot the primary lost or invalidated never stops a clone), clones the
#     primary with pg_basebackup into a scratch directory beside PGDATA (streaming WAL through the
#     slot, so nothing is missed between the backup and the first streaming), adds standby.signal and
#     the connection, and renames it into place. A clone cut short leaves only the scratch
#     directory, redone next time.
#
# A re-run on a healthy standby changes no file of PGDATA and nothing on the primary: the WAL check
# streams a few bytes into a scratch directory, without a slot.
#
# The password is never written to disk: primary_conninfo has none, and the server's walreceiver
# takes it from PGPASSWORD in the main container's environment (libpq reads it).
#
# Interface (environment; defaults are what the pod uses):
#   PGDATA                 data directory                           /var/lib/postgresql/data/pgdata
#   PRIMARY_HOST           primary's Service (or address)           postgres
#   PRIMARY_PORT           its port                                 5432
#   REPLICATION_USER       role with REPLICATION                    replicator
#   REPLICATION_PASSWORD   its password                             required to clone and to check
#   REPLICATION_SLOT       this standby's physical slot on the primary
#                                                                   POD_NAME (else HOSTNAME) with '-' as '_'
#   PRIMARY_WAIT_SECONDS   how long to wait for the primary before failing (the pod retries)   600
#   WAL_CHECK_SECONDS      how long the WAL check may take                                     30
#   TMPDIR                 where the WAL check's scratch directory is made                     /tmp
#   PATH                   must hold pg_basebackup, pg_receivewal, pg_controldata, pg_isready,
#                          psql (the image's PATH does)
set -euo pipefail
umask 077

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
PRIMARY_HOST="${PRIMARY_HOST:-postgres}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICATION_USER="${REPLICATION_USER:-replicator}"
pod="${POD_NAME:-${HOSTNAME:-}}"
REPLICATION_SLOT="${REPLICATION_SLOT:-${pod//-/_}}"
PRIMARY_WAIT_SECONDS="${PRIMARY_WAIT_SECONDS:-600}"
WAL_CHECK_SECONDS="${WAL_CHECK_SECONDS:-30}"

log() { printf 'standby-init: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$REPLICATION_SLOT" =~ ^[a-z0-9_]{1,63}$ ]] || die "replication slot name '$REPLICATION_SLOT' must be 1-63 of [a-z0-9_] (set REPLICATION_SLOT or POD_NAME)"
[[ "$PRIMARY_PORT" =~ ^[0-9]+$ ]] || die "PRIMARY_PORT '$PRIMARY_PORT' is not a port number"
[[ "$WAL_CHECK_SECONDS" =~ ^[0-9]+$ ]] || die "WAL_CHECK_SECONDS '$WAL_CHECK_SECONDS' is not a number of seconds"

# A libpq conninfo value: as it is when plain, else single-quoted with quotes and backslashes escaped.
conninfo_value() {
  if [[ "$1" =~ ^[A-Za-z0-9._:-]+$ ]]; then
    printf '%s' "$1"
  else
    local v="${1//\\/\\\\}"
    printf "'%s'" "${v//\'/\\\'}"
  fi
}

# Writes the connection to the primary into postgresql.auto.conf of data directory $1, replacing
# what a base backup copied from the primary or an earlier start wrote. An unchanged file is not
# touched.
write_connection() {
  local dir="$1" conf="$1/postgresql.auto.conf" conninfo
  conninfo="host=$(conninfo_value "$PRIMARY_HOST") port=$PRIMARY_PORT user=$(conninfo_value "$REPLICATION_USER") application_name=$REPLICATION_SLOT"
  {
    if [ -f "$conf" ]; then
      grep -v -E '^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=' "$conf" || true
    fi
    printf "primary_conninfo = '%s'\n" "${conninfo//\'/\'\'}"
    printf "primary_slot_name = '%s'\n" "$REPLICATION_SLOT"
  } >"$dir/postgresql.auto.conf.tmp"
  if [ -f "$conf" ] && cmp -s "$dir/postgresql.auto.conf.tmp" "$conf"; then
    rm -f "$dir/postgresql.auto.conf.tmp"
    return 1
  fi
  mv "$dir/postgresql.auto.conf.tmp" "$conf"
}

# One pg_controldata field of PGDATA.
control() { pg_controldata "$PGDATA" | sed -n "s/^$1: *//p"; }

replication() { PGPASSWORD="$REPLICATION_PASSWORD" "$@" --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" --no-password; }

# Whether the primary still has the WAL this standby resumes from: prints 'ok', 'removed' or
# 'unknown: <why>'. The standby asks for the segment it was writing when it stopped (the newest one
# in pg_wal; recycled segments keep older times) from its start; pg_receivewal starts there when its
# directory holds that segment as a (sparse) .partial file, and stops one byte later. A primary of
# another cluster (re-initialised) is never 'removed': this standby may hold the only copy.
primary_has_our_wal() {
  local system primary_system segment segment_bytes per_id id offset lsn check output
  system="$(control 'Database system identifier')"
  if ! output="$(replication psql -X -At -F ' ' -d 'replication=true' -c IDENTIFY_SYSTEM 2>&1)"; then
    echo "unknown: $(printf '%s' "$output" | tr '\n' ' ')"
    return
  fi
  read -r primary_system _ <<<"$output"
  if [ "$primary_system" != "$system" ]; then
    echo "unknown: the primary is another cluster (system $primary_system, this standby's $system); this standby's data is kept: if it is the copy to keep, take it out before re-creating the standby"
    return
  fi
  segment="$(find "$PGDATA/pg_wal" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}' -printf '%T@ %f\n' | sort -n | tail -n 1 | cut -d' ' -f2)"
  [ -n "$segment" ] || { echo "unknown: no WAL segment in $PGDATA/pg_wal"; return; }
  segment_bytes="$(control 'Bytes per WAL segment')"
  [[ "$segment_bytes" =~ ^[0-9]+$ ]] || { echo "unknown: no WAL segment size in pg_controldata"; return; }
  per_id=$((0x100000000 / segment_bytes))
  id=$((16#${segment:8:8}))
  offset=$(((16#${segment:16:8} % per_id) * segment_bytes))
  lsn="$(printf '%X/%X' "$id" $((offset + 1)))"
  check="$(mktemp -d "${TMPDIR:-/tmp}/standby-wal-check.XXXXXX")"
  truncate -s "$segment_bytes" "$check/$segment.partial"
  if output="$(replication timeout "$WAL_CHECK_SECONDS" pg_receivewal --directory="$check" --no-loop --no-sync --endpos="$lsn" 2>&1)"; then
    echo ok
  elif [[ "$output" == *"has already been removed"* ]]; then
    echo removed
  else
    echo "unknown: $(printf '%s' "$output" | tr '\n' ' ')"
  fi
  rm -rf "${check:?}"
}

# A scratch copy of a re-clone that was cut short.
rm -rf "${PGDATA:?}.stale"

if [ -s "$PGDATA/PG_VERSION" ]; then
  chmod 0700 "$PGDATA"
  if [ ! -e "$PGDATA/standby.signal" ]; then
    die "$PGDATA holds a cluster that was promoted (timeline $(control "Latest checkpoint's TimeLineID"), no standby.signal): a standby pod never starts as a primary, the primary pod may be taking writes too (split brain). To make this pod a standby of $PRIMARY_HOST again, delete its data: kubectl delete pvc data-${pod:-<pod>} --wait=false && kubectl delete pod ${pod:-<pod>} (it clones the primary). If the promoted server's writes must be kept, copy them out of the claim first."
  fi
  if write_connection "$PGDATA"; then
    log "wrote the connection to $PRIMARY_HOST:$PRIMARY_PORT (slot $REPLICATION_SLOT) into postgresql.auto.conf"
  fi
  if [ -z "${REPLICATION_PASSWORD:-}" ]; then
    log "standby found in $PGDATA; no REPLICATION_PASSWORD to check the primary's WAL with: resuming streaming"
    exit 0
  fi
  wal="$(primary_has_our_wal)"
  case "$wal" in
    ok)
      log "standby found in $PGDATA: the primary still has the WAL it needs, resuming streaming from $PRIMARY_HOST:$PRIMARY_PORT through slot $REPLICATION_SLOT"
      exit 0
      ;;
    removed)
      # Same cluster, older copy: the primary holds everything the standby had, and more.
      log "the primary $PRIMARY_HOST:$PRIMARY_PORT has removed WAL this standby needs (slot $REPLICATION_SLOT invalidated by max_slot_wal_keep_size while it was away): re-cloning"
      mv "$PGDATA" "$PGDATA.stale"
      rm -rf "${PGDATA:?}.stale"
      ;;
    *)
      log "standby found in $PGDATA; could not check the primary's WAL (${wal#unknown: }): resuming; it is ready only once it streams"
      exit 0
      ;;
  esac
fi

if [ -e "$PGDATA" ]; then
  if [ -n "$(ls -A "$PGDATA")" ]; then
    die "$PGDATA is not empty but holds no PG_VERSION: refusing to clone over unknown files"
  fi
  rmdir "$PGDATA"
fi
[ -n "${REPLICATION_PASSWORD:-}" ] || die "REPLICATION_PASSWORD is empty: cannot clone the primary (replicationPasswordSecret)"

log "waiting up to ${PRIMARY_WAIT_SECONDS}s for the primary $PRIMARY_HOST:$PRIMARY_PORT"
deadline=$((SECONDS + PRIMARY_WAIT_SECONDS))
until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -t 5; do
  [ "$SECONDS" -lt "$deadline" ] || die "the primary $PRIMARY_HOST:$PRIMARY_PORT did not accept connections within ${PRIMARY_WAIT_SECONDS}s"
  sleep 2
done

# A fresh slot reserves WAL from now on; an invalidated one would reserve nothing.
if ! output="$(replication pg_receivewal --drop-slot --slot="$REPLICATION_SLOT" 2>&1)" && [[ "$output" != *"does not exist"* ]]; then
  die "cannot drop replication slot $REPLICATION_SLOT on $PRIMARY_HOST:$PRIMARY_PORT before cloning: $output"
fi
replication pg_receivewal --create-slot --slot="$REPLICATION_SLOT" || die "cannot create replication slot $REPLICATION_SLOT on $PRIMARY_HOST:$PRIMARY_PORT (is the replication password right?)"

scratch="${PGDATA}.clone"
rm -rf "${scratch:?}"
log "cloning $PRIMARY_HOST:$PRIMARY_PORT as $REPLICATION_USER through slot $REPLICATION_SLOT"
if ! replication pg_basebackup --pgdata="$scratch" --wal-method=stream --slot="$REPLICATION_SLOT" --checkpoint=fast --verbose; then
  rm -rf "${scratch:?}"
  die "pg_basebackup from $PRIMARY_HOST:$PRIMARY_PORT failed (is the replication password right?)"
fi
touch "$scratch/standby.signal"
write_connection "$scratch" || true
chmod 0700 "$scratch"
mv "$scratch" "$PGDATA"
log "standby seeded in $PGDATA; it streams from $PRIMARY_HOST:$PRIMARY_PORT through slot $REPLICATION_SLOT"
