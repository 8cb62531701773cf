#!/usr/bin/env bash
# Hourly binary-log archive of MYSQL_HOST (the server the full backups are taken from: their
# coordinates are in its files) into ARCHIVE_REPOSITORY, a repository of its own so that prune and
# check of the full backups never hold it up.
#
#   1. FLUSH BINARY LOGS closes the current file, so everything committed before the run is in a
#      closed file (the RPO is the schedule's interval plus the run time plus the replica's lag).
#   2. Continuity, against the last archived file L of the newest chain:
#      - L still on the server with the same identity (binlog_head): the chain goes on after L;
#      - L gone and the server's oldest file is L+1: the chain goes on;
#      - L gone and the server's oldest file is later than L+1: those files were purged before they
#        were archived. The files present are archived into the chain (so later targets stay
#        reachable from later fulls), the run fails naming the missing files, and restores refuse
#        to replay across the hole unless told --allow-gaps;
#      - otherwise (L's name back with another identity, or numbering below L): the server's
#        numbering restarted (a re-cloned replica, a new volume): a new chain begins, and fulls
#        taken before it never replay its files.
#   3. Each closed file not yet archived: fetched with mysqlbinlog --read-from-remote-server --raw
#      into a temporary directory (one file at a time: TMPDIR needs max_binlog_size), its size
#      checked against SHOW BINARY LOGS, decoded for its first and last event times, backed up and
#      promoted with tags `binlog`, `chain=`, `file=`, `seq=`, `head=`, `start=`, `end=` (epochs).
#
# Retention of the archive is the full backup's job (archives go once no kept full needs them).
# Arguments: none. Environment: see mysql-backup-lib.sh (MYSQL_HOST, MYSQL_PORT, MYSQL_BACKUP_USER,
# MYSQL_PWD, ARCHIVE_REPOSITORY) and restic.sh.
set -euo pipefail
# shellcheck source=lib/data/mysql/backup/mysql-backup-lib.sh
. "$(dirname "$0")/mysql-backup-lib.sh"

require MYSQL_HOST MYSQL_PWD ARCHIVE_REPOSITORY
restic_prepare "$ARCHIVE_REPOSITORY"
detect_flavour
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

source_sql -e 'FLUSH BINARY LOGS' || die "FLUSH BINARY LOGS on $MYSQL_HOST failed"
listing="$(source_sql -e 'SHOW BINARY LOGS')" || die "SHOW BINARY LOGS on $MYSQL_HOST failed"
names=(); sizes=()
while IFS=$'\t' read -r name size _; do names+=("$name"); sizes+=("$size"); done <<<"$listing"
[ -n "${names[0]:-}" ] || die "$MYSQL_HOST lists no binary logs (binary logging off?)"
# The newest file is the one being written.
closed=$(( ${#names[@]} - 1 ))
base="${names[0]%.*}"
oldest_seq="$(binlog_sequence "${names[0]}")"

# The last archived file of the newest chain.
chain=; last_seq=0; last_file=; last_head=; gap=
newest_chain=; last_line=
while IFS= read -r line; do
  tag_value "$line" chain; newest_chain="$REPLY"
done < <(restic_snapshots "$ARCHIVE_REPOSITORY" binlog)
if [ -n "$newest_chain" ]; then
  while IFS= read -r line; do
    tag_value "$line" chain; [ "$REPLY" = "$newest_chain" ] || continue
    tag_value "$line" seq
    if [ "$REPLY" -ge "$last_seq" ]; then last_seq="$REPLY"; last_line="$line"; fi
  done < <(restic_snapshots "$ARCHIVE_REPOSITORY" binlog)
  tag_value "$last_line" file; last_file="$REPLY"
  tag_value "$last_line" head; last_head="$REPLY"
  present=
  for name in "${names[@]}"; do [ "$name" != "$last_file" ] || present=1; done
  if [ -n "$present" ]; then
    if [ "$(binlog_head "$last_file")" = "$last_head" ]; then
      chain="$newest_chain"
    else
      log "$last_file on $MYSQL_HOST is not the file archived under that name: its numbering restarted; a new chain begins"
    fi
  elif [ "$oldest_seq" -le "$last_seq" ]; then
    log "$MYSQL_HOST's binary logs start at ${names[0]}, before the last archived $last_file which it does not hold: its numbering restarted; a new chain begins"
  else
    chain="$newest_chain"
    if [ "$oldest_seq" -gt $((last_seq + 1)) ]; then
      gap="$(printf '%s.%06d' "$base" $((last_seq + 1))) to $(printf '%s.%06d' "$base" $((oldest_seq - 1)))"
    fi
  fi
fi
if [ -z "$chain" ]; then
  chain="$(date -u +%Y%m%dT%H%M%SZ)"
  last_seq=0
  log "starting archive chain $chain at ${names[0]}"
fi

archived_count=0; total=0; started=$(date +%s)
for ((i = 0; i < closed; i++)); do
  name="${names[$i]}"
  seq="$(binlog_sequence "$name")"
  [ "$seq" -gt "$last_seq" ] || continue
  mysqlbinlog --defaults-extra-file=<(client_options "$MYSQL_BACKUP_USER" "$MYSQL_PWD") \
    --read-from-remote-server --protocol=TCP --host="$MYSQL_HOST" --port="$MYSQL_PORT" \
    --raw --result-file="$work/" "$name" || die "fetching $name from $MYSQL_HOST failed"
  size="$(stat -c %s "$work/$name")"
  [ "$size" = "${sizes[$i]}" ] || die "fetched $name has $size bytes, the server lists ${sizes[$i]}"
  identity="$(binlog_head "$name")" || die "could not read the head of $name"
  read -r first last < <(binlog_times "$work/$name") || die "could not read the event times of $name"
  id="$(restic_backup_stdin "$ARCHIVE_REPOSITORY" "$name" <"$work/$name")" || die "backing up $name failed"
  restic_promote "$ARCHIVE_REPOSITORY" "$id" binlog "chain=$chain" "file=$name" "seq=$seq" "head=$identity" \
    "start=$first" "end=$last" || { restic_discard "$ARCHIVE_REPOSITORY" "$id"; die "could not promote $name ($id)"; }
  rm -f "$work/$name"
  archived_count=$((archived_count + 1)); total=$((total + size))
  log "archived $name ($size bytes, events $(epoch_text "$first") to $(epoch_text "$last")) as $id in chain $chain"
done
report_throughput "binary-log archive of $MYSQL_HOST ($archived_count files)" "$total" $(( $(date +%s) - started ))

if [ -n "$gap" ]; then
  die "binary logs $gap of chain $chain were purged on $MYSQL_HOST before they were archived: point-in-time restores across them are refused (--allow-gaps to force); the files after them were archived. Raise binlog_expire_logs_seconds or fix the archive schedule, and take a full backup"
fi
