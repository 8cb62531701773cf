#!/bin/sh
# The log shipper's init container: waits until Elasticsearch has the index template of the data
# stream the shipper writes ($ES_INDEX_TEMPLATE). Writing before it exists would make Elasticsearch
# auto-create a plain index of that name, which no retention policy governs and which blocks the
# data stream for good. Waits as long as it takes (the pod shows Init:0/1, and this log says why);
# a refused credential fails at once, so the pod shows the error rather than waiting silently.
#
# Environment: ES_URL (https://host:port), ES_USERNAME, ES_PASSWORD, ES_INDEX_TEMPLATE,
# ES_CA_FILE (optional: the system CAs otherwise), ES_RETRY_SECONDS (default 10).
set -eu

: "${ES_URL:?ES_URL must be set}" "${ES_USERNAME:?ES_USERNAME must be set}" "${ES_PASSWORD:?ES_PASSWORD must be set}"
: "${ES_INDEX_TEMPLATE:?ES_INDEX_TEMPLATE must be set}"
retry_seconds=${ES_RETRY_SECONDS:-10}

config_quote() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# Prints the HTTP status of GET /_index_template/<name> (000 when there was no answer).
template_status() {
  set -- --silent --output /dev/null --write-out '%{http_code}'
  if [ -n "${ES_CA_FILE:-}" ]; then set -- "$@" --cacert "$ES_CA_FILE"; fi
  printf 'user = "%s:%s"\n' "$(config_quote "$ES_USERNAME")" "$(config_quote "$ES_PASSWORD")" |
    curl --config - "$@" "${ES_URL%/}/_index_template/$ES_INDEX_TEMPLATE" || true
}

last=
while :; do
  status=$(template_status)
  case $status in
    200)
      echo "index template $ES_INDEX_TEMPLATE found"
      exit 0
      ;;
    401 | 403)
      echo "Elasticsearch refused the credentials of $ES_USERNAME (status $status)" >&2
      exit 1
      ;;
  esac
  if [ "$status" != "$last" ]; then
    case $status in
      404) echo "waiting for the index template $ES_INDEX_TEMPLATE (installed by the log retention Job)" >&2 ;;
      *) echo "waiting for Elasticsearch at $ES_URL (status $status)" >&2 ;;
    esac
    last=$status
  fi
  sleep "$retry_seconds"
done
