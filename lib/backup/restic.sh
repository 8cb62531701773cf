#!/usr/bin/env bash
# Restic helpers every backup, archive, verify and restore script sources (the stores' scripts in
# lib/data/<store>/backup/). One way to reach the repository, so every job gets the same lock
# handling, the same "pending until proven complete" rule and the same retention.
#
# Environment (set by the backup construct, lib/backup/store-backup.ts; by the tests locally):
#   RESTIC                 restic binary (default: restic on PATH; in the pods /backup/bin/restic)
#   RESTIC_PASSWORD        repository password (from a Secret); AWS_ACCESS_KEY_ID and
#                          AWS_SECRET_ACCESS_KEY for s3: repositories (from Secrets)
#   BACKUP_HOST            restic --host of every snapshot: the store's name, not the pod's
#   LOCK_WAIT_SECONDS      how long a command waits for another job's lock (default 600)
#
# Snapshots are made with the tag `pending` and get their real tags (`full`, `binlog`, `wal`, ...)
# only after the script has checked the whole stream arrived (restic_promote). Restores only ever
# look at promoted snapshots, so a dump that died midway can never be mistaken for a good backup.
# shellcheck shell=bash

RESTIC="${RESTIC:-restic}"
BACKUP_HOST="${BACKUP_HOST:-$(hostname)}"
LOCK_WAIT_SECONDS="${LOCK_WAIT_SECONDS:-600}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Microseconds since the epoch, for throughput figures.
now_us() { date +%s%6N; }

# Logs bytes $2 moved in microseconds $3 by step $1 as MB/s (the tests and the README read these lines).
log_throughput() {
  local what=$1 bytes=$2 us=$3
  (( us > 0 )) || us=1
  log "$what: $bytes bytes in $(awk -v u="$us" 'BEGIN { printf "%.2f", u / 1e6 }') s, $(awk -v b="$bytes" -v u="$us" 'BEGIN { printf "%.1f", b / 1048576 / (u / 1e6) }') MB/s"
}

# Every stage of the last pipeline succeeded. Call as `pipeline_ok "${PIPESTATUS[@]}"` right after it.
pipeline_ok() {
  local status
  for status in "$@"; do [ "$status" -eq 0 ] || return 1; done
}

# Runs restic against repository $1 with the remaining arguments, waiting for a lock another job
# holds (restic >= 0.17 exits 11; 0.14 prints "repository is already locked") up to
# LOCK_WAIT_SECONDS, so a prune or check delays an archiver instead of failing it.
restic_in() {
  local repo="$1"; shift
  local deadline=$(( $(date +%s) + LOCK_WAIT_SECONDS )) status errfile
  errfile="$(mktemp)"
  while true; do
    status=0
    RESTIC_REPOSITORY="$repo" "$RESTIC" "$@" 2>"$errfile" || status=$?
    if [ "$status" -eq 0 ]; then cat "$errfile" >&2; rm -f "$errfile"; return 0; fi
    if { [ "$status" -eq 11 ] || grep -q 'repository is already locked' "$errfile"; } && [ "$(date +%s)" -lt "$deadline" ]; then
      log "repository locked by another job; retrying in 15s"
      sleep 15
      continue
    fi
    cat "$errfile" >&2; rm -f "$errfile"
    return "$status"
  done
}

# Creates repository $1 if it does not exist yet, then removes locks left by killed jobs. `unlock`
# removes only stale locks (a dead process on this host, or not refreshed for 30 minutes), never
# another running job's: `--remove-all` is never used.
restic_prepare() {
  local repo="$1"
  if ! RESTIC_REPOSITORY="$repo" "$RESTIC" cat config >/dev/null 2>&1; then
    # A wrong password also fails `cat config`: init refuses an existing repository, so that case
    # still ends in an error rather than a second repository.
    log "initialising restic repository $repo"
    RESTIC_REPOSITORY="$repo" "$RESTIC" init >&2
  fi
  RESTIC_REPOSITORY="$repo" "$RESTIC" unlock >&2
}

# Backs up stdin into repository $1 as file $2, tagged `pending`; prints the snapshot id.
# Callers check the producer's exit status and the content, then call restic_promote or
# restic_discard.
restic_backup_stdin() {
  local repo="$1" filename="$2" out id
  out="$(restic_in "$repo" backup --host "$BACKUP_HOST" --tag pending --stdin --stdin-filename "$filename" --json)" || return 1
  id="$(printf '%s\n' "$out" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' | tail -n 1)"
  [ -n "$id" ] || { log "restic printed no snapshot id"; return 1; }
  printf '%s\n' "$id"
}

# Backs up the files and folders $3... of repository $1 (relative to the working directory), tagged
# `pending` plus tag $2; prints the snapshot id.
restic_backup_paths() {
  local repo="$1" tag="$2" out id; shift 2
  out="$(restic_in "$repo" backup --host "$BACKUP_HOST" --tag pending --tag "$tag" --json "$@")" || return 1
  id="$(printf '%s\n' "$out" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' | tail -n 1)"
  [ -n "$id" ] || { log "restic printed no snapshot id"; return 1; }
  printf '%s\n' "$id"
}

# Marks snapshot $2 of repository $1 complete: removes `pending`, adds the tags $3... (comma-free).
restic_promote() {
  local repo="$1" id="$2" tag args=(); shift 2
  for tag in "$@"; do args+=(--add "$tag"); done
  restic_in "$repo" tag --remove pending "${args[@]}" "$id" >/dev/null
}

# Drops snapshot $2 of repository $1 (a failed or incomplete backup).
restic_discard() {
  restic_in "$1" forget "$2" >/dev/null || log "could not forget incomplete snapshot $2 (it stays tagged pending, which no restore uses)"
}

# The promoted snapshots of repository $1 with tag $2, oldest first, as JSON lines:
# {"id":"…","time":"…","tags":[…]}
restic_snapshots() {
  local repo="$1" tag="$2"
  restic_in "$repo" snapshots --host "$BACKUP_HOST" --tag "$tag" --json --no-lock \
    | sed 's/},{"time"/}\n{"time"/g; s/^\[//; s/\]$//' | grep -v '^$' || true
}

# The value of tag `$2=<value>` in a snapshot JSON line $1 ("" if absent).
snapshot_tag() {
  printf '%s\n' "$1" | grep -o "\"$2=[^\"]*\"" | head -n 1 | sed "s/^\"$2=//; s/\"\$//"
}

# The id of a snapshot JSON line $1.
snapshot_id() {
  printf '%s\n' "$1" | grep -o '"id":"[0-9a-f]*"' | head -n 1 | sed 's/"id":"//; s/"$//'
}

# Retention by the jobs themselves: snapshots of repository $1 tagged $2 older than $3 days before
# the newest one go; the newest is always kept, so backups that stopped never empty the repository.
# Pending snapshots older than a day (left by killed jobs) go too. Space is freed by restic_prune.
restic_forget_older() {
  local repo="$1" tag="$2" days="$3"
  restic_in "$repo" forget --host "$BACKUP_HOST" --tag "$tag" --group-by host --keep-within "${days}d" --keep-last 1 >&2
  restic_in "$repo" forget --host "$BACKUP_HOST" --tag pending --group-by host --keep-within 1d >&2 || true
}

# Frees the space of forgotten snapshots. Exclusive and memory-hungry (about 3x the index), so it
# runs in its own off-peak job; --max-unused keeps it from rewriting packs for a few percent.
restic_prune() {
  restic_in "$1" prune --max-unused 10% >&2
}

# Integrity: the repository structure and a rotating subset of the data, so that every pack is
# read once every $2 runs (the weekly verify reads all data in $2 weeks). Exit non-zero on any error.
restic_verify() {
  local repo="$1" parts="${2:-4}" week part
  week=$(( 10#$(date -u +%V) ))
  part=$(( week % parts + 1 ))
  log "checking $repo, data subset $part/$parts"
  restic_in "$repo" check --read-data-subset "$part/$parts" >&2
}
