# shellcheck shell=bash
# What the operator's scripts (lib/data/*/switchover.sh) share: logging, kubectl bound to the
# chosen context and namespace, and changes that --dry-run prints instead of running. Sourced after
# the caller has parsed its arguments into `namespace`, `context` (may be empty) and `dry_run`
# (empty: run), and set `LOG_PREFIX`.

log() { printf '%s: %s\n' "${LOG_PREFIX:?}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# kubectl in the caller's context and namespace.
k() { kubectl ${context:+--context "$context"} --namespace "${namespace:?}" "$@"; }

# A command line to copy: words quoted only where the shell needs it.
quoted() {
  local word out=''
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $word"; else out+=" '${word//\'/\'\\\'\'}'"; fi
  done
  printf '%s' "${out# }"
}

# What --dry-run prints goes to the script's stdout, also where callers discard a command's output.
exec 3>&1
# Runs a kubectl command that changes something, or (--dry-run) prints it with its input: commands
# that take input (`exec -i`, `apply -f -`) read it from stdin.
change() {
  if [[ -z ${dry_run:-} ]]; then
    k "$@"
    return
  fi
  printf 'would run: kubectl %s\n' "$(quoted ${context:+--context "$context"} --namespace "$namespace" "$@")" >&3
  if [[ $1 == exec || $1 == apply ]]; then sed 's/^/    /' >&3; fi
}
