#!/usr/bin/env bash
# `npm run check:dist`: fails when the committed dist/ is not what the code synthesizes now.
# Synthesizes into dist/ (as `npm run synth` does), then asks git whether anything under dist/
# changed or appeared. .ci/run calls it after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run -s synth
if ! git diff --quiet -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "dist/ is stale: run 'npm run synth' and commit dist/" >&2
  git status --short -- dist | head -20 >&2
  exit 1
fi
echo "dist/ is up to date"
