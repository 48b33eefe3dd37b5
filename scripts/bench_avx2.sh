#!/usr/bin/env bash
# The teacher's AVX2+FMA code path beside PyTorch's, on an AVX-512 machine.
#
# `gemm` and the host kernels (`pulp`) pick AVX-512 at run time when the CPU has it
# and the crate was built with their `x86-v4` feature, which only m2v-teacher enables.
# Neither can be capped at run time, so this script builds the teacher benchmark from
# a git worktree of HEAD whose m2v-teacher/Cargo.toml drops `x86-v4`: the binary then
# runs exactly the kernels an AVX2-only CPU (e.g. an AMD EPYC before Zen 4) gets.
# Burn's own vector code (`macerator`: LayerNorm, adds; a few percent of the time)
# still detects AVX-512 by itself. PyTorch is capped the documented way
# (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA).
#
#   scripts/bench_avx2.sh [CRITERION FILTER] [bench_teacher.py arguments]
#
# e.g. scripts/bench_avx2.sh teacher_minilm/ --model all-MiniLM-L6-v2 --sentences 1024
# Needs `cargo xtask fetch` and the project venv (~/.cache/m2v/pyenv with torch).
set -euo pipefail
cd "$(dirname "$0")/.."
FILTER="${1:-teacher_minilm/}"
shift || true
PY="${M2V_PYTHON:-$HOME/.cache/m2v/pyenv/bin/python}"
export HF_HUB_OFFLINE=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/m2v/target}"
TREE="$(mktemp -d /tmp/m2v-avx2.XXXXXX)"
trap 'git worktree remove --force "$TREE" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$TREE" HEAD >/dev/null
sed -i -e 's/, "x86-v4"\]/]/' "$TREE/crates/m2v-teacher/Cargo.toml"
if grep -q 'x86-v4' "$TREE/crates/m2v-teacher/Cargo.toml"; then
  echo "bench_avx2.sh: could not drop x86-v4 from m2v-teacher/Cargo.toml" >&2
  exit 1
fi
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores: AVX2+FMA path"
(cd "$TREE/benches" && cargo bench -p m2v-benches --bench teacher -- "$FILTER" \
  --warm-up-time 2 --measurement-time 8 --noplot 2>&1 | grep -E "^[a-zA-Z].*(time|thrpt):|thrpt:")
ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \
  "$PY" scripts/bench_teacher.py --threads "$(nproc)" --criterion "$CARGO_TARGET_DIR/criterion" "$@"
