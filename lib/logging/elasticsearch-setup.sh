#!/bin/sh
# Installs the log retention in Elasticsearch: PUTs each request of $ES_REQUEST_DIR/requests (one
# "<path> <body file>" per line, in order) to $ES_URL. PUT creates or replaces, so a re-run changes
# nothing that is already right. Waits for Elasticsearch while it is unreachable or answers 5xx or 429
# (a cluster still starting), for at most $ES_WAIT_SECONDS in all; any other answer than 2xx fails
# at once, with Elasticsearch's reason, because a refused body or credential does not fix itself.
#
# Environment: ES_URL (https://host:port), ES_USERNAME, ES_PASSWORD, ES_REQUEST_DIR,
# ES_CA_FILE (optional: the system CAs otherwise), ES_WAIT_SECONDS (default 900),
# ES_RETRY_SECONDS (default 10).
set -eu

: "${ES_URL:?ES_URL must be set}" "${ES_USERNAME:?ES_USERNAME must be set}" "${ES_PASSWORD:?ES_PASSWORD must be set}"
: "${ES_REQUEST_DIR:?ES_REQUEST_DIR must be set}"
wait_seconds=${ES_WAIT_SECONDS:-900}
retry_seconds=${ES_RETRY_SECONDS:-10}
response=$(mktemp)
trap 'rm -f "$response"' EXIT

# A value inside a double-quoted curl config string: backslash and quote escaped.
config_quote() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# es_put PATH FILE: prints the HTTP status (000 when there was no answer); the body goes to $response.
# The credentials reach curl on stdin, never on its command line, where any process could read them.
es_put() {
  set -- "$1" "$2" --silent --show-error --output "$response" --write-out '%{http_code}' \
    --request PUT --header 'Content-Type: application/json' --data-binary "@$2"
  if [ -n "${ES_CA_FILE:-}" ]; then set -- "$@" --cacert "$ES_CA_FILE"; fi
  path=$1
  shift 2
  printf 'user = "%s:%s"\n' "$(config_quote "$ES_USERNAME")" "$(config_quote "$ES_PASSWORD")" |
    curl --config - "$@" "${ES_URL%/}/$path" || true
}

deadline=$(($(date +%s) + wait_seconds))
requests=0
while read -r path file || [ -n "${path:-}" ]; do
  case $path in '' | '#'*) continue ;; esac
  while :; do
    status=$(es_put "$path" "$ES_REQUEST_DIR/$file")
    case $status in
      2??)
        echo "PUT /$path: $status"
        break
        ;;
      000 | 5?? | 429)
        if [ "$(date +%s)" -ge "$deadline" ]; then
          echo "PUT /$path: Elasticsearch at $ES_URL did not answer within ${wait_seconds}s (last status $status)" >&2
          exit 1
        fi
        echo "PUT /$path: status $status, Elasticsearch not ready; retrying in ${retry_seconds}s" >&2
        sleep "$retry_seconds"
        ;;
      *)
        echo "PUT /$path: refused with status $status: $(head -c 2000 "$response")" >&2
        exit 1
        ;;
    esac
  done
  requests=$((requests + 1))
done <"$ES_REQUEST_DIR/requests"

if [ "$requests" -eq 0 ]; then
  echo "no request in $ES_REQUEST_DIR/requests" >&2
  exit 1
fi
echo "log retention installed: $requests requests"
