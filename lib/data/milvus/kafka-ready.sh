#!/bin/sh
# Readiness of one node of the Milvus Kafka StatefulSet: ready once the broker is in the in-sync
# replica set (ISR) of every partition it holds a replica of. A StatefulSet rolls one pod at a time
# and waits for the restarted pod to be ready, so a rolling restart stops the next broker only
# after the previous one has caught up: no partition's ISR drops below min.insync.replicas.
#
# Usage: kafka-ready.sh <bootstrap-server> <timeout-seconds>
# Exit 0: ready. 1: not ready (replicas behind, or no answer in time). 64: misuse.
# The tools come from /opt/kafka/bin (KAFKA_BIN_DIR in tests).
set -eu

usage() {
  echo "kafka-ready.sh: $1" >&2
  exit 64
}

[ "$#" -eq 2 ] || usage "usage: kafka-ready.sh <bootstrap-server> <timeout-seconds>"
bootstrap="$1"
timeout_seconds="$2"
case "$timeout_seconds" in
  '' | *[!0-9]*) usage "the timeout must be a whole number of seconds, not '$timeout_seconds'" ;;
esac

[ -n "${POD_NAME:-}" ] || usage "POD_NAME is not set (set it from metadata.name)"
# The node id is the pod ordinal, as kafka-node.sh set it.
node_id="${POD_NAME##*-}"
case "$node_id" in
  '' | *[!0-9]*) usage "cannot take a node id from pod name '$POD_NAME': it does not end in -<ordinal>" ;;
esac

# The tool's JVM shares the broker's memory limit: a small heap, not the broker's half of it.
KAFKA_HEAP_OPTS='-Xms32m -Xmx128m'
# Warnings to stderr, not the broker's INFO to stdout, which would mix with the report.
KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$(dirname "$0")/kafka-tools-log4j.properties"
export KAFKA_HEAP_OPTS KAFKA_LOG4J_OPTS

if ! report=$(timeout "$timeout_seconds" "${KAFKA_BIN_DIR:-/opt/kafka/bin}/kafka-topics.sh" \
  --bootstrap-server "$bootstrap" --describe --under-replicated-partitions); then
  echo "kafka-ready.sh: broker ${node_id} not ready: kafka-topics.sh --describe failed or took more than ${timeout_seconds}s" >&2
  exit 1
fi

# One line per under-replicated partition, tab-separated:
#   Topic: t  Partition: 0  Leader: 1  Replicas: 1,2,0  Isr: 1,2  Elr: N/A  LastKnownElr: N/A
behind=$(printf '%s\n' "$report" | awk -F '\t' -v id="$node_id" '
  function member(list,    n, ids, i) {
    n = split(list, ids, ",")
    for (i = 1; i <= n; i++) if (ids[i] == id) return 1
    return 0
  }
  {
    topic = ""; partition = ""; replicas = ""; isr = ""
    for (f = 1; f <= NF; f++) {
      if (index($f, "Topic: ") == 1) topic = substr($f, 8)
      else if (index($f, "Partition: ") == 1) partition = substr($f, 12)
      else if (index($f, "Replicas: ") == 1) replicas = substr($f, 11)
      else if (index($f, "Isr: ") == 1) isr = substr($f, 6)
    }
    if (member(replicas) && !member(isr)) printf "%s%s-%s", (count++ ? " " : ""), topic, partition
  }')

if [ -n "$behind" ]; then
  echo "kafka-ready.sh: broker ${node_id} not ready: not yet in the in-sync replicas of ${behind}" >&2
  exit 1
fi
