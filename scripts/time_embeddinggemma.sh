#!/usr/bin/env bash
# EmbeddingGemma-300M distilled whole (262k tokens, pca_dims=256) by Python model2vec
# 0.10.0 and by `m2v-cli distill`, one after the other on this machine, then compared
# (same token list, row cosine >= 0.999). Wall time and peak RSS from /usr/bin/time.
#
#   scripts/time_embeddinggemma.sh [WORK_DIR]
#
# Needs `cargo xtask fetch embeddinggemma-300m` and the project venv
# (~/.cache/m2v/pyenv with model2vec[distill]==0.10.0). Writes WORK_DIR/{python,m2v}
# and WORK_DIR/timings.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/m2v-embeddinggemma}"
PY="${M2V_PYTHON:-$HOME/.cache/m2v/pyenv/bin/python}"
export HF_HUB_OFFLINE=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/m2v/target}"
mkdir -p "$WORK"
rm -rf "$WORK/python" "$WORK/m2v"
cargo build --release -p m2v-cli
CLI="$CARGO_TARGET_DIR/release/m2v-cli"
{
  echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "## python model2vec 0.10.0"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
    "$PY" scripts/golden_distill_embeddinggemma.py full "$WORK/python" 2>&1 | grep -v "it/s\]" | tail -3
  echo "## m2v-cli distill"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
    "$CLI" distill --model google/embeddinggemma-300m --output "$WORK/m2v" --pca-dims 256 --quiet 2>&1 | tail -3
  echo "## compare"
  "$PY" scripts/golden_distill_embeddinggemma.py compare "$WORK/m2v" "$WORK/python" 2>&1 | tail -2
} 2>&1 | tee "$WORK/timings.txt"
