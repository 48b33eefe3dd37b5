#!/usr/bin/env bash
# Whole-process distillation of all-MiniLM-L6-v2 (whole vocabulary, pca_dims=256) by
# Python model2vec 0.10.0 and by `m2v-cli distill` (release build, CPU teacher),
# alternating, RUNS times each (default 3), on this machine. Wall time and peak RSS
# from /usr/bin/time, the process start (imports, model load) included.
#
#   scripts/time_minilm.sh [RUNS] [WORK_DIR]
#
# Needs `cargo xtask fetch` and the project venv (~/.cache/m2v/pyenv with
# model2vec[distill]==0.10.0).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
WORK="${2:-/tmp/m2v-time-minilm}"
PY="${M2V_PYTHON:-$HOME/.cache/m2v/pyenv/bin/python}"
export HF_HUB_OFFLINE=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/m2v/target}"
cargo build --release -p m2v-cli
CLI="$CARGO_TARGET_DIR/release/m2v-cli"
SNAP="$("$PY" -c 'from huggingface_hub import snapshot_download as s; print(s("sentence-transformers/all-MiniLM-L6-v2", local_files_only=True))')"
mkdir -p "$WORK"
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/python" "$WORK/m2v"
  echo "## run $i: python model2vec 0.10.0"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$PY" -c "
from model2vec.distill import distill
distill(model_name='$SNAP', pca_dims=256, device='cpu').save_pretrained('$WORK/python')
" 2>&1 | grep -E "^wall"
  echo "## run $i: m2v-cli distill"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
    "$CLI" distill --model sentence-transformers/all-MiniLM-L6-v2 --output "$WORK/m2v" \
    --pca-dims 256 --quiet 2>&1 | grep -E "^wall"
done
