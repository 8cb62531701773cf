#!/bin/sh
# Starts one node of the Milvus Kafka StatefulSet (KRaft, combined broker and controller).
# A KRaft node id must be unique and stable, and the only stable identity a StatefulSet pod has
# is the ordinal at the end of its name (milvus-kafka-2 -> node 2), which the pod spec cannot
# express. Everything else is configured by KAFKA_* variables that the image's own start script
# (/etc/kafka/docker/run, or KAFKA_DOCKER_RUN) turns into server.properties.
set -eu

if [ -z "${POD_NAME:-}" ]; then
  echo "kafka-node.sh: POD_NAME is not set (set it from metadata.name)" >&2
  exit 64
fi

ordinal="${POD_NAME##*-}"
case "$ordinal" in
  '' | *[!0-9]*)
    echo "kafka-node.sh: cannot take a node id from pod name '$POD_NAME': it does not end in -<ordinal>" >&2
    exit 64
    ;;
esac

KAFKA_NODE_ID="$ordinal"
export KAFKA_NODE_ID
echo "kafka-node.sh: starting Kafka node ${KAFKA_NODE_ID} (${POD_NAME})"
exec "${KAFKA_DOCKER_RUN:-/etc/kafka/docker/run}"
