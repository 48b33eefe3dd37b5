#!/usr/bin/env bash
# Regression lock for the distillation restructure (issue 14): the sha256 of every file
# `m2v-cli distill` writes, for a set of variants, from a given m2v-cli binary.
#
#   scripts/distill_bytes.sh BIN > crates/m2v-distill/tests/fixtures/distill_bytes.json
#
# The committed file was made with the m2v-cli of commit 11a641a (the last commit with
# the driver inside the CLI; it still has the hidden `--teacher-cache` flag this script
# uses to run the teacher once per vocabulary), after `cargo xtask fetch`:
#
#   git worktree add /tmp/m2v-before 11a641a && cd /tmp/m2v-before && cargo build -p m2v-cli
#   scripts/distill_bytes.sh /tmp/m2v-before/target/debug/m2v-cli
#
# `crates/m2v-distill/tests/bytes.rs` distills the same variants with the library and
# requires the same hashes: the restructure must not change one byte of the output.
# Every variant distills `sentence-transformers/all-MiniLM-L6-v2` (by hub id, so that
# `tokenizer_name` and `base_model` do not depend on the machine) into a folder named
# `model`.
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
vocab="$here/crates/m2v-distill/tests/fixtures/distill/vocabulary.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
variants=(
  "default|--pca-dims 256"
  "float32|--pca-dims 256 --quantize-to float32"
  "int8|--pca-dims 256 --quantize-to int8"
  "pca_none|--pca-dims none"
  "no_sif|--pca-dims 64 --no-sif"
  "vq|--pca-dims 64 --vocabulary-quantization 32"
  "vocab|--pca-dims 256 --vocabulary $vocab"
)
echo "{"
first=1
for v in "${variants[@]}"; do
  name="${v%%|*}"
  args="${v#*|}"
  cache="$work/teacher-default.bin"
  [ "$name" = vocab ] && cache="$work/teacher-vocab.bin"
  out="$work/$name/model"
  # shellcheck disable=SC2086
  HF_HUB_OFFLINE=1 "$bin" distill --model sentence-transformers/all-MiniLM-L6-v2 \
    --output "$out" --teacher-cache "$cache" --quiet $args
  [ $first = 1 ] || echo ","
  first=0
  printf '  "%s": {' "$name"
  sep=""
  for f in config.json model.safetensors modules.json README.md tokenizer.json; do
    h="$(sha256sum "$out/$f" | cut -d' ' -f1)"
    printf '%s"%s": "%s"' "$sep" "$f" "$h"
    sep=", "
  done
  printf '}'
done
echo
echo "}"
