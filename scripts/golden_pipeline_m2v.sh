#!/usr/bin/env bash
# The m2v half of the pipeline goldens (see scripts/golden_pipeline.py): m2v-cli trains
# three pipelines from the tiny f32 test model on the synthetic data, into
# crates/m2v-static/tests/fixtures/pipelines/m2v_*; the next run of golden_pipeline.py
# loads them in Python's StaticModelPipeline and records what Python predicts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p m2v-cli
bin="${CARGO_TARGET_DIR:-target}/debug/m2v-cli"
tiny=crates/m2v-static/tests/fixtures/tiny/tiny_f32
data=crates/m2v-train/tests/fixtures/synthetic/train.jsonl
out=crates/m2v-static/tests/fixtures/pipelines
common=(--model "$tiny" --data "$data" --hidden-dim 16 --max-epochs 8 --seed 7 --force --quiet)
"$bin" train classify "${common[@]}" --output "$out/m2v_single"
"$bin" train classify "${common[@]}" --label-column labels --output "$out/m2v_multi"
"$bin" train regression "${common[@]}" --label-column score --output "$out/m2v_regression"
echo "wrote $out/m2v_{single,multi,regression}"
