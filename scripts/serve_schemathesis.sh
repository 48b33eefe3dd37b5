#!/usr/bin/env bash
# Fuzz `m2v-cli serve` through its own OpenAPI document with schemathesis (PyPI), all
# checks (no server errors, statuses, content types and bodies as documented):
#   scripts/serve_schemathesis.sh target/release/m2v-cli PATH/TO/potion-base-8M [EXAMPLES]
set -euo pipefail
bin=$1 model=$2 n=${3:-200}
py=${PYTHON:-$HOME/.cache/m2v/pyenv/bin}
pipeline="$(dirname "$0")/../crates/m2v-static/tests/fixtures/pipelines/m2v_single"
"$bin" serve --port 8093 --model "potion-base-8M=$model" --model "clf=$pipeline" --max-batch 64 \
  --max-input-bytes 65536 >/dev/null &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:8093/health >/dev/null && break; sleep 0.1; done
"$py/schemathesis" run http://127.0.0.1:8093/openapi.json --checks all \
  --max-examples "$n" --seed 7 "${@:4}"
