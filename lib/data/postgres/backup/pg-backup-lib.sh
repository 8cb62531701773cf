# PostgreSQL backup helpers, sourced by the pg-*.sh scripts of this folder (never run). They run in
# the store's own image (postgres:14.x: bash, coreutils, tar, mawk, the server binaries on PATH)
# with restic beside it, and in the tests against PostgreSQL 15.
#
# How the pieces fit:
#   archive   archive_command (pg-wal-archive.sh) copies each finished WAL file durably into a spool
#             directory on the data volume; the shipper sidecar (pg-wal-ship.sh) backs the spool up to
#             ARCHIVE_REPOSITORY in batches: one snapshot per contiguous run of segments of one
#             timeline, tagged `wal tli=<n> first=<segment> last=<segment> count=<n>
#             last-commit=<time of the last commit or abort in the run>`, and one `wal meta` snapshot
#             for timeline history, backup history and .partial files.
#   base      pg_basebackup (tar, backup_manifest, no WAL) streamed into RESTIC_REPOSITORY, tagged
#             `base tli= start-wal= end-wal= start-lsn= end-lsn= time=<when it ended>`.
#   restore   the newest base that ended before the target, the batches from its start segment up to
#             the first commit after the target, replayed by a server the script starts itself.
# A segment missing between two batches is a gap: a restore that would cross it is refused.
#
# Environment (besides restic.sh's RESTIC, RESTIC_PASSWORD, BACKUP_HOST, LOCK_WAIT_SECONDS):
#   RESTIC_REPOSITORY    base backups (and restore-test markers)            [required by base/restore]
#   ARCHIVE_REPOSITORY   archived WAL                                       [required]
#   WAL_SEGMENT_MB       the cluster's WAL segment size (initdb --wal-segsize)       [16]
# shellcheck shell=bash

# shellcheck source=lib/backup/restic.sh
. "${BACKUP_LIB:-$(dirname "${BASH_SOURCE[0]}")/restic.sh}"

WAL_SEGMENT_MB="${WAL_SEGMENT_MB:-16}"
[[ "$WAL_SEGMENT_MB" =~ ^(1|2|4|8|16|32|64|128|256|512|1024)$ ]] || die "WAL_SEGMENT_MB '$WAL_SEGMENT_MB' must be a power of two from 1 to 1024"
# Segment file names are <timeline><log><seg>: a log holds 4 GiB of WAL.
SEGS_PER_LOG=$(( 4096 / WAL_SEGMENT_MB ))
# The file name of the base backup inside a base snapshot.
# shellcheck disable=SC2034 # used by the scripts that source this file
BASE_FILE=base.tar
# The file of a volume base's meta snapshot: a tar of backup_label and global/pg_control.
# shellcheck disable=SC2034 # used by the scripts that source this file
VOLUME_META_FILE='base-meta.tar'

require() {
  local name
  for name in "$@"; do [ -n "${!name:-}" ] || die "$name must be set"; done
}

# A time as sortable UTC text with microseconds (string order is time order), from anything GNU
# date reads (RFC 3339, '2024-05-01 12:00:00.5 UTC', ...).
utc_time() {
  date -u -d "$1" +%Y-%m-%dT%H:%M:%S.%6NZ 2>/dev/null || return 1
}

# Whether UTC time text $1 (utc_time) is after $2.
later() { [[ "$1" > "$2" ]]; }

is_segment() { [[ "$1" =~ ^[0-9A-F]{24}$ ]]; }
# The timeline of a WAL file name, as a number.
segment_tli() { printf '%d\n' "$(( 16#${1:0:8} ))"; }
# The position of segment $1 in the WAL (independent of the timeline).
segment_number() { printf '%d\n' "$(( 16#${1:8:8} * SEGS_PER_LOG + 16#${1:16:8} ))"; }
# The file name of segment number $2 on timeline $1.
segment_name() { printf '%08X%08X%08X\n' "$1" "$(( $2 / SEGS_PER_LOG ))" "$(( $2 % SEGS_PER_LOG ))"; }
# The segment number holding LSN $1 (hi/lo hex).
lsn_segment() {
  [[ "$1" =~ ^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$ ]] || return 1
  printf '%d\n' "$(( ((16#${1%/*} << 32) | 16#${1#*/}) / (WAL_SEGMENT_MB * 1048576) ))"
}

# Snapshots of repository $1 with tag $2 as lines `id value-of-tag-$3 value-of-tag-$4 ...` ('-' where
# absent), oldest first. Pending snapshots (a job that died before promoting) are left out.
snapshot_table() {
  local repo="$1" tag="$2"; shift 2
  restic_snapshots "$repo" "$tag" | grep -v '"pending"' | awk -v keys="$*" '
    BEGIN { n = split(keys, k, " ") }
    {
      id = "-"
      if (match($0, /"id":"[0-9a-f]+"/)) id = substr($0, RSTART + 6, RLENGTH - 7)
      out = id
      for (i = 1; i <= n; i++) {
        v = "-"
        if (match($0, "\"" k[i] "=[^\"]*\"")) v = substr($0, RSTART + length(k[i]) + 2, RLENGTH - length(k[i]) - 3)
        out = out " " v
      }
      print out
    }'
}

# The promoted WAL batches of ARCHIVE_REPOSITORY as lines `first-number last-number id tli
# last-commit first-name last-name`, sorted by first segment. A batch whose count does not match
# its range (a shipper bug or a hand-made snapshot) is reported and left out, so that it shows as a
# gap rather than as WAL that is not there.
wal_batches() {
  local id tli first last count commit f l
  snapshot_table "$ARCHIVE_REPOSITORY" wal tli first last count last-commit |
    while read -r id tli first last count commit; do
      if ! is_segment "$first" || ! is_segment "$last"; then continue; fi
      f="$(segment_number "$first")"; l="$(segment_number "$last")"
      if [ "$count" != "$(( l - f + 1 ))" ]; then
        log "WAL batch $id ($first..$last) holds $count segments, not $(( l - f + 1 )): ignored"
        continue
      fi
      printf '%s %s %s %s %s %s %s\n' "$f" "$l" "$id" "$tli" "$commit" "$first" "$last"
    done | sort -n -k1,1 -k2,2 -k4,4
}

# The promoted base backups of RESTIC_REPOSITORY as lines `id tli start-wal end-wal start-lsn end-lsn
# time`, oldest first.
base_backups() {
  snapshot_table "$RESTIC_REPOSITORY" base tli start-wal end-wal start-lsn end-lsn time |
    awk '$2 != "-" && $3 != "-" && $4 != "-" && $7 != "-"'
}

# Restores every file of snapshot $2 of repository $1 into directory $3 (flat: restic keeps the
# spool's absolute path, which differs from pod to pod).
restore_flat() {
  local repo="$1" id="$2" dest="$3" tmp
  tmp="$(mktemp -d "$dest/.restore.XXXXXX")"
  restic_in "$repo" restore "$id" --target "$tmp" >&2 || { rm -rf "$tmp"; return 1; }
  find "$tmp" -type f -exec mv -f {} "$dest/" \;
  rm -rf "$tmp"
}

# The timeline a restore of a base on timeline $1 follows (recovery_target_timeline = latest: the
# newest timeline whose history descends from $1), as CHAIN: lines `tli first-segment`, oldest first;
# each timeline serves the segments from its first one up to the next one's. Reads the history files
# in directory $2 (the archive's `wal meta` snapshots). A segment number exists on several timelines
# after a promotion or a point-in-time restore: the old timeline's copy past the switch is WAL of a
# history that was abandoned, and replaying it would bring back what the restore removed.
timeline_chain() {
  local base="$1" dir="$2" newest="$1" file n tli lsn begin=0
  for file in "$dir"/*.history; do
    [ -e "$file" ] || continue
    n=$(( 16#$(basename "$file" .history) ))
    [ "$n" -gt "$newest" ] || continue
    if awk -v b="$base" '$1 == b { found = 1 } END { exit !found }' "$file"; then newest="$n"; fi
  done
  CHAIN=()
  if [ "$newest" != "$base" ]; then
    while read -r tli lsn _; do
      [[ "$tli" =~ ^[0-9]+$ ]] || continue
      CHAIN+=("$tli $begin")
      begin="$(lsn_segment "$lsn")" || die "bad switch point '$lsn' in $newest's timeline history"
    done <"$dir/$(printf '%08X' "$newest").history"
  fi
  CHAIN+=("$newest $begin")
}

# Walks the archived WAL along CHAIN from segment number $1 (batches in $BATCHES): stops when
# kind $2 is satisfied (`time` $3: a commit after it, at or past segment $4; `lsn`: segment $3;
# `base`: segment $4; `latest`: the end) or at a gap. Sets WALK_BATCHES, WALK_END (last segment
# name), WALK_LAST_COMMIT, WALK_GAP and WALK_REACHED (0/1).
walk_wal() {
  local start="$1" kind="$2" target="$3" end_no="$4"
  local i tli begin next covered_to=$(( $1 - 1 )) f l bid btli commit first last
  WALK_BATCHES=(); WALK_END=''; WALK_LAST_COMMIT=''; WALK_GAP=''; WALK_REACHED=0
  for (( i = 0; i < ${#CHAIN[@]}; i++ )); do
    read -r tli begin <<<"${CHAIN[i]}"
    next=-1
    if (( i + 1 < ${#CHAIN[@]} )); then read -r _ next <<<"${CHAIN[i + 1]}"; fi
    # This timeline serves segments begin..next-1 (to the end for the newest).
    if [ "$next" -ge 0 ] && [ "$next" -le "$start" ]; then continue; fi
    while read -r f l bid btli commit first last; do
      [ "$btli" = "$tli" ] || continue
      [ "$l" -le "$covered_to" ] && continue
      if [ "$next" -ge 0 ] && [ "$f" -ge "$next" ]; then break; fi
      if [ "$f" -gt $(( covered_to + 1 )) ]; then
        WALK_GAP="segments $(segment_name "$tli" $(( covered_to + 1 )))..$(segment_name "$tli" $(( f - 1 ))) are missing from the archive (the WAL after them, up to $last, cannot be replayed)"
        return 0
      fi
      WALK_BATCHES+=("$bid"); covered_to="$l"; WALK_END="$last"
      # A batch that runs past its timeline's switch holds commits of the abandoned history too:
      # its last-commit tells nothing about this timeline.
      if [ "$next" -ge 0 ] && [ "$l" -ge "$next" ]; then commit=-; covered_to=$(( next - 1 )); WALK_END="$(segment_name "$tli" "$covered_to")"; fi
      if [ "$commit" != - ] && later "$commit" "$WALK_LAST_COMMIT"; then WALK_LAST_COMMIT="$commit"; fi
      case "$kind" in
        # Recovery stops at the first commit after the target: the batch holding one is the last needed.
        time) if [ "$commit" != - ] && later "$commit" "$target" && [ "$l" -ge "$end_no" ]; then WALK_REACHED=1; return 0; fi ;;
        lsn) if [ "$l" -ge "$target" ]; then WALK_REACHED=1; return 0; fi ;;
        base) if [ "$l" -ge "$end_no" ]; then WALK_REACHED=1; return 0; fi ;;
      esac
    done <<<"$BATCHES"
    if [ "$next" -ge 0 ] && [ "$covered_to" -lt $(( next - 1 )) ]; then
      WALK_GAP="segments $(segment_name "$tli" $(( covered_to + 1 )))..$(segment_name "$tli" $(( next - 1 ))) of timeline $tli, before its switch to the next, are missing from the archive"
      return 0
    fi
    [ "$next" -lt 0 ] || covered_to=$(( next - 1 ))
  done
  [ "$kind" != latest ] || WALK_REACHED=1
}

# Plans a restore. Arguments: the target kind (`time`, `lsn`, `latest`, or `base`: the newest base
# backup and just the WAL it needs to be consistent), the target (a UTC time from utc_time, an LSN,
# or ''), and whether gaps are allowed (0/1). Reads the repositories, refuses with a message naming
# the archived range when the target cannot be reached, and otherwise sets:
#   PLAN_BASE_ID PLAN_BASE_START PLAN_BASE_END PLAN_BASE_TIME  the base backup
#   PLAN_BATCHES   ids of the WAL batches to fetch, in order
#   PLAN_META      ids of the `wal meta` snapshots (timeline histories: recovery follows them, and
#                  a restored server must see every timeline that exists to pick a new one)
#   PLAN_END_SEGMENT  the last segment fetched; PLAN_LAST_COMMIT the newest commit time in them
#   PLAN_GAP       '' or a description of the gap the restore stops at (only with gaps allowed)
# Nothing is touched: it only reads (history files go to a temporary directory).
plan_restore() {
  local kind="$1" target="$2" allow_gaps="$3"
  local bases id tli start_wal end_wal start_lsn end_lsn time f l first last
  local start_no end_no target_no=-1 range_first='' range_last='' newest_commit='' chosen='' histories
  bases="$(base_backups)"
  BATCHES="$(wal_batches)"
  [ -n "$bases" ] || die "no promoted base backup in $RESTIC_REPOSITORY (host $BACKUP_HOST): nothing to restore from"
  [ -n "$BATCHES" ] || die "no archived WAL in $ARCHIVE_REPOSITORY (host $BACKUP_HOST): a base backup alone is not consistent without the WAL written while it ran"
  [ "$kind" != lsn ] || target_no="$(lsn_segment "$target")" || die "'$target' is not an LSN"

  # The archived range, for the messages: from the start of the contiguous run that holds the
  # newest segment to that segment.
  local run_to=-1
  while read -r f l _ _ _ first last; do
    if [ "$run_to" -lt 0 ] || [ "$f" -gt $(( run_to + 1 )) ]; then range_first="$first"; fi
    if [ "$l" -gt "$run_to" ]; then run_to="$l"; range_last="$last"; fi
  done <<<"$BATCHES"
  newest_commit="$(awk '$5 != "-" { print $5 }' <<<"$BATCHES" | sort | tail -n 1)"
  local archived="archived WAL: segments $range_first..$range_last, commits up to ${newest_commit:-(none recorded)}"
  local oldest_base_time
  oldest_base_time="$(head -n 1 <<<"$bases" | awk '{ print $7 }')"

  if [ "$kind" = time ]; then
    [[ "$target" > "$oldest_base_time" ]] || die "target $target is before the end of the oldest base backup ($oldest_base_time): no backup can reach it; $archived"
    if [ -z "$newest_commit" ] || ! [[ "$newest_commit" > "$target" ]]; then
      die "target $target is not before the last archived commit (${newest_commit:-none}): recovery would end before reaching it. Use --target-time latest to restore everything archived; $archived"
    fi
  fi

  PLAN_META=()
  while read -r id _; do PLAN_META+=("$id"); done < <(snapshot_table "$ARCHIVE_REPOSITORY" meta)
  histories="$(mktemp -d "${TMPDIR:-/tmp}/pg-histories.XXXXXX")"
  for id in "${PLAN_META[@]}"; do
    restore_flat "$ARCHIVE_REPOSITORY" "$id" "$histories" 2>/dev/null || { rm -rf "$histories"; die "fetching timeline histories (snapshot $id) failed"; }
  done

  # The newest base that can serve the target: ended before a time target, or whose end segment
  # precedes an LSN target; for `latest`, any; and whose own WAL (start to end) is archived.
  while read -r id tli start_wal end_wal start_lsn end_lsn time; do
    case "$kind" in
      time) [[ "$time" < "$target" ]] || continue ;;
      lsn) [ "$(segment_number "$end_wal")" -le "$target_no" ] || continue ;;
    esac
    start_no="$(segment_number "$start_wal")"; end_no="$(segment_number "$end_wal")"
    timeline_chain "$tli" "$histories"
    walk_wal "$start_no" base '' "$end_no"
    if [ "$WALK_REACHED" = 1 ]; then
      chosen="$id $tli $start_wal $end_wal $start_lsn $end_lsn $time"
    elif [ "$kind" = time ] || [ "$kind" = lsn ] || [ -z "$chosen" ]; then
      log "base backup $id ($time): its WAL $start_wal..$end_wal is not all archived yet; skipped"
    fi
  done <<<"$bases"
  [ -n "$chosen" ] || { rm -rf "$histories"; die "no base backup before the target has its WAL archived ($archived; base backups: $(awk '{ printf "%s%s(%s..%s)", sep, $7, $3, $4; sep = ", " }' <<<"$bases"))"; }
  read -r PLAN_BASE_ID tli PLAN_BASE_START PLAN_BASE_END _ _ PLAN_BASE_TIME <<<"$chosen"

  # The batches along the timeline from the base's start segment, until the target or a gap.
  timeline_chain "$tli" "$histories"
  rm -rf "$histories"
  end_no="$(segment_number "$PLAN_BASE_END")"
  case "$kind" in
    lsn) walk_wal "$(segment_number "$PLAN_BASE_START")" lsn "$target_no" "$end_no" ;;
    *) walk_wal "$(segment_number "$PLAN_BASE_START")" "$kind" "$target" "$end_no" ;;
  esac
  PLAN_BATCHES=("${WALK_BATCHES[@]}"); PLAN_GAP="$WALK_GAP"; PLAN_LAST_COMMIT="$WALK_LAST_COMMIT"; PLAN_END_SEGMENT="$WALK_END"
  local timelines="timeline(s) ${CHAIN[*]%% *}"
  # A gap is only ever met before the target (the walk stops at the target): refused by default.
  if [ -n "$PLAN_GAP" ]; then
    [ "$allow_gaps" = 1 ] || die "gap in the archive after base backup $PLAN_BASE_ID ($PLAN_BASE_TIME): $PLAN_GAP; contiguous WAL from the base reaches ${PLAN_END_SEGMENT:-nothing} (commits up to ${PLAN_LAST_COMMIT:-none}). Choose a target before that, or pass --allow-gaps to restore up to the gap; $archived"
    if [ -z "$PLAN_END_SEGMENT" ] || [ "$(segment_number "$PLAN_END_SEGMENT")" -lt "$end_no" ]; then die "gap in the archive inside base backup $PLAN_BASE_ID's own WAL: $PLAN_GAP"; fi
    log "WARNING: $PLAN_GAP; --allow-gaps: restoring everything up to $PLAN_END_SEGMENT (last commit ${PLAN_LAST_COMMIT:-unknown}), NOT to the target"
    WALK_REACHED=1
  fi
  [ "$WALK_REACHED" = 1 ] || die "the archive does not reach the target $target from base backup $PLAN_BASE_ID ($PLAN_BASE_TIME) along $timelines; $archived"
  log "plan: base $PLAN_BASE_ID (ended $PLAN_BASE_TIME, WAL $PLAN_BASE_START..$PLAN_BASE_END), ${#PLAN_BATCHES[@]} WAL batch(es) along $timelines up to $PLAN_END_SEGMENT; $archived"
}

# The format of base backup $1 (`stream`: pg_basebackup's tar; `volume`: files of the data volume)
# and, for a volume base, the id of its meta snapshot (same `set=`): `format meta-id` ('-' if none).
base_format() {
  local id="$1" line format set meta=-
  line="$(snapshot_table "$RESTIC_REPOSITORY" base format set | awk -v id="$id" '$1 == id')"
  [ -n "$line" ] || die "base backup $id is not in $RESTIC_REPOSITORY"
  read -r _ format set <<<"$line"
  [ "$format" != - ] || format=stream
  if [ "$format" = volume ] && [ "$set" != - ]; then
    meta="$(snapshot_table "$RESTIC_REPOSITORY" base-meta set | awk -v set="$set" '$2 == set { print $1 }' | tail -n 1)"
  fi
  printf '%s %s\n' "$format" "${meta:--}"
}

# Extracts the planned base backup into the new directory $1 (mode 0700) and checks it: a streamed
# base is one tar with its backup_manifest; a volume base is restored file by file (restic restores
# several files at once), then its backup_label and pg_control from the meta snapshot.
extract_base() {
  local dest="$1" format meta info started
  info="$(base_format "$PLAN_BASE_ID")" || exit 1
  started="$(now_us)"
  read -r format meta <<<"$info"
  PLAN_BASE_FORMAT="$format"
  mkdir -p "$dest"; chmod 0700 "$dest"
  if [ "$format" = volume ]; then
    [ "$meta" != - ] || die "volume base backup $PLAN_BASE_ID has no meta snapshot (backup_label, pg_control) of its set"
    restic_in "$RESTIC_REPOSITORY" restore "$PLAN_BASE_ID" --target "$dest" >&2 || die "restoring base backup $PLAN_BASE_ID into $dest failed"
    restic_in "$RESTIC_REPOSITORY" dump "$meta" "/$VOLUME_META_FILE" | tar -xf - -C "$dest"
    pipeline_ok "${PIPESTATUS[@]}" || die "extracting backup_label and pg_control of base backup $PLAN_BASE_ID (meta $meta) failed"
    if [ ! -s "$dest/backup_label" ] || [ ! -s "$dest/global/pg_control" ]; then die "base backup $PLAN_BASE_ID has no backup_label or global/pg_control"; fi
    chmod 0700 "$dest"
  else
    restic_in "$RESTIC_REPOSITORY" dump "$PLAN_BASE_ID" "/$BASE_FILE" | tar -xf - -C "$dest"
    pipeline_ok "${PIPESTATUS[@]}" || die "extracting base backup $PLAN_BASE_ID into $dest failed"
    if [ ! -s "$dest/backup_label" ] || [ ! -s "$dest/backup_manifest" ]; then die "base backup $PLAN_BASE_ID has no backup_label or backup_manifest"; fi
  fi
  # The part of a restore that grows with the data (the README's figures extrapolate this line).
  log_throughput "base extract ($format)" "$(du -sb "$dest" | awk '{ print $1 }')" $(( $(now_us) - started ))
}

# The engine's own check of the extracted base in $1 with its WAL in $2, before recovery: a streamed
# base against its backup_manifest (pg_verifybackup: sizes, CRC32C checksums, the WAL parses). A
# volume base has no manifest: reaching consistency in recovery and check_page_checksums after it
# are its check.
verify_base_files() {
  local data="$1" wal="$2"
  if [ "${PLAN_BASE_FORMAT:-stream}" = stream ]; then
    pg_verifybackup --wal-directory="$wal" "$data" >&2 || die "pg_verifybackup of base backup $PLAN_BASE_ID FAILED"
  fi
}

# The page checksums of the cleanly stopped cluster in $1, when it has them (initdb
# --data-checksums): every page of every relation is read and checked.
check_page_checksums() {
  local data="$1" control
  control="$(pg_controldata "$data")" || die "pg_controldata could not read $data"
  if grep -q '^Data page checksum version: *[1-9]' <<<"$control"; then
    pg_checksums --check -D "$data" >&2 || die "pg_checksums found corrupted pages in the restored base backup $PLAN_BASE_ID"
    log "page checksums of every relation are correct"
  else
    log "the cluster has no data checksums (initdb --data-checksums): pages not checked"
  fi
}

# The call that starts a non-exclusive base backup labelled $2 on a server of version $1
# (server_version_num), with an immediate checkpoint; PostgreSQL 15 renamed the functions.
backup_start_call() {
  if [ "$1" -ge 150000 ]; then printf "pg_backup_start('%s', true)\n" "$2"; else printf "pg_start_backup('%s', true, false)\n" "$2"; fi
}
# The call that ends it (not waiting for the archive: a standby does not archive, and the restore's
# plan checks that the WAL up to the end is archived).
backup_stop_call() {
  if [ "$1" -ge 150000 ]; then printf 'pg_backup_stop(false)\n'; else printf 'pg_stop_backup(false, false)\n'; fi
}

# Retention, after a base backup: bases older than KEEP_FULL_DAYS (the newest always stays), the
# meta of volume bases that went, and every WAL batch wholly before the oldest kept base's start.
forget_old_bases() {
  local oldest_start keep_from old_batches=() old_meta=() kept meta set l bid
  restic_forget_older "$RESTIC_REPOSITORY" base "$KEEP_FULL_DAYS"
  kept=" $(snapshot_table "$RESTIC_REPOSITORY" base set | awk '{ printf "%s ", $2 }')"
  while read -r meta set; do
    [[ "$kept" == *" $set "* ]] || old_meta+=("$meta")
  done < <(snapshot_table "$RESTIC_REPOSITORY" base-meta set)
  if [ "${#old_meta[@]}" -gt 0 ]; then
    log "forgetting the meta of ${#old_meta[@]} forgotten volume base backup(s)"
    restic_in "$RESTIC_REPOSITORY" forget "${old_meta[@]}" >&2
  fi
  oldest_start="$(base_backups | head -n 1 | awk '{ print $3 }')"
  is_segment "$oldest_start" || die "no base backup left after retention"
  keep_from="$(segment_number "$oldest_start")"
  while read -r _ l bid _; do
    [ "$l" -lt "$keep_from" ] && old_batches+=("$bid")
  done < <(wal_batches)
  if [ "${#old_batches[@]}" -gt 0 ]; then
    log "forgetting ${#old_batches[@]} WAL batch(es) before $oldest_start, the start of the oldest kept base backup"
    restic_in "$ARCHIVE_REPOSITORY" forget "${old_batches[@]}" >&2
  fi
  # Forgotten data is freed by the weekly prune job (lib/backup/prune.sh).
}

# Fetches the planned WAL batches and the timeline histories into directory $1.
fetch_wal() {
  local dest="$1" id
  mkdir -p "$dest"
  for id in "${PLAN_BATCHES[@]}" "${PLAN_META[@]}"; do
    restore_flat "$ARCHIVE_REPOSITORY" "$id" "$dest" || die "fetching WAL batch $id from $ARCHIVE_REPOSITORY failed"
  done
}

# Runs archive recovery in data directory $1 with the recovery target lines $3 (e.g.
# "recovery_target_time = '...'"; empty: replay everything) and WAL from directory $2: a private
# server (Unix socket in $4, no TCP) that replays, promotes and stays up. Fails when PostgreSQL ends
# recovery without reaching the target. Prints the server log's recovery lines to stderr.
RECOVERY_TIMEOUT_SECONDS="${RECOVERY_TIMEOUT_SECONDS:-7200}"
start_recovery() {
  local data="$1" wal="$2" target="$3" sock="$4"
  touch "$data/recovery.signal"
  {
    printf '\n# pg-restore: recovery settings (removed by finish_recovery)\n'
    printf "restore_command = 'test -f \"%s/%%f\" && cp \"%s/%%f\" \"%%p\"'\n" "$wal" "$wal"
    printf "recovery_target_timeline = 'latest'\n"
    [ -z "$target" ] || printf '%s\n' "$target"
    printf "recovery_target_action = 'promote'\n"
    printf '# pg-restore: end\n'
  } >>"$data/postgresql.auto.conf"
  # Only this script connects, over a socket in a private directory: trust is safe there.
  printf 'local all all trust\n' >"$sock/pg_hba.conf"
  : >"$sock/pg_ident.conf"
  # hot_standby off: the server opens only once recovery has ended and it promoted, so `pg_ctl -w`
  # returns exactly then, and the primary's max_connections and the like need not be matched.
  # archive_mode off: a restored copy never archives into the store's archive by itself.
  pg_ctl -D "$data" -w -t "$RECOVERY_TIMEOUT_SECONDS" -l "$sock/server.log" \
    -o "-c listen_addresses='' -c port=5432 -c unix_socket_directories='$sock' -c hba_file='$sock/pg_hba.conf' -c ident_file='$sock/pg_ident.conf' -c hot_standby=off -c archive_mode=off -c shared_buffers=${RESTORE_SHARED_BUFFERS:-128MB}" \
    start >/dev/null 2>&1 || {
      grep -E 'FATAL|PANIC|ERROR|recovery' "$sock/server.log" | tail -n 20 >&2 || true
      die "the recovering server in $data did not finish recovery (log above: $sock/server.log)"
    }
  # pg_ctl may return before the server has logged the end of recovery: wait for the line that
  # follows it.
  local waited=0
  until grep -q 'database system is ready to accept connections' "$sock/server.log"; do
    [ "$waited" -lt 600 ] || die "the server in $data accepts connections but never logged the end of recovery"
    sleep 0.1; waited=$(( waited + 1 ))
  done
  grep -E 'recovery stopping|last completed transaction|archive recovery complete|selected new timeline|redo done' "$sock/server.log" >&2 || true
  grep -q 'recovery stopping\|archive recovery complete' "$sock/server.log" || die "the server started but its log shows no end of archive recovery"
}

# Stops the recovery server of data directory $1 and removes the recovery settings.
finish_recovery() {
  local data="$1"
  pg_ctl -D "$data" -m fast -w -t 300 stop >/dev/null || die "stopping the recovery server of $data failed"
  sed -i '/^# pg-restore: recovery settings/,/^# pg-restore: end/d' "$data/postgresql.auto.conf"
  rm -f "$data/recovery.signal"
}
