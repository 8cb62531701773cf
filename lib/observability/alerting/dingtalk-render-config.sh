#!/bin/sh
# The placeholders are the literal text ${NAME}: single quotes keep the shell from expanding them.
# shellcheck disable=SC2016
# Writes the DingTalk adapter's configuration file from its template (a ConfigMap) to OUTPUT
# (a memory-backed emptyDir), replacing each value written as ${NAME} with the environment
# variable NAME, which the pod sets from a Secret: the robots' tokens and signing secrets never
# sit in a ConfigMap, and the adapter's config file has no way to read them from elsewhere.
# Fails, naming the variable, when one is unset or empty or holds a character that would break
# the double-quoted YAML string it is written into, so the pod never starts half configured.
set -eu

usage="usage: dingtalk-render-config.sh TEMPLATE OUTPUT"
template=${1:?$usage}
output=${2:?$usage}
newline='
'
carriage_return=$(printf '\r')

fail() {
  echo "dingtalk-render-config.sh: $*" >&2
  # No half-written file is left for anyone to mistake for a configuration.
  rm -f "${tmp:-}"
  exit 1
}

[ -r "$template" ] || fail "cannot read the template $template"
umask 077
tmp="$output.tmp"
: > "$tmp"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    *': ${'*'}')
      name=${line##*'${'}
      name=${name%'}'}
      prefix=${line%%'${'*}
      case $name in
        '' | *[!A-Z0-9_]*) fail "bad placeholder in the line: $line" ;;
      esac
      value=$(printenv "$name") || fail "$name is not set (is its Secret key missing?)"
      [ -n "$value" ] || fail "$name is empty (is its Secret key empty?)"
      case $value in
        *'"'* | *\\* | *"$newline"* | *"$carriage_return"*)
          fail "$name holds a quote, a backslash or a line break, which no DingTalk URL or secret has" ;;
      esac
      printf '%s"%s"\n' "$prefix" "$value" >> "$tmp"
      ;;
    *'${'*) fail "a placeholder must be a whole value (key: \${NAME}): $line" ;;
    *) printf '%s\n' "$line" >> "$tmp" ;;
  esac
done < "$template"
mv "$tmp" "$output"
