#!/bin/sh
# Builds one crate's libFuzzer targets with coverage instrumentation and runs one:
#   scripts/fuzz_run.sh FUZZ_DIR TARGET [libFuzzer options, e.g. -runs=10000000 -max_len=4096]
# (each crate's fuzz/run.sh calls it with its own folder). Stable Rust and the flags
# cargo-fuzz passes, without AddressSanitizer (nightly only). The corpus grows in
# FUZZ_DIR/corpus/TARGET (seeded from seeds/TARGET and regressions/TARGET where they
# exist); crashes land in FUZZ_DIR/artifacts/.
set -eu
cd "$1"; shift
target=$1; shift
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/m2v/fuzz-target}"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# An explicit --target keeps the instrumentation off build scripts (as cargo-fuzz does).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --target "$host" --bin "$target"
mkdir -p "corpus/$target" artifacts
dirs=""
for d in "seeds/$target" "regressions/$target"; do
    [ -d "$d" ] && dirs="$dirs $d"
done
# shellcheck disable=SC2086
exec "$CARGO_TARGET_DIR/$host/release/$target" -artifact_prefix=artifacts/ "$@" "corpus/$target" $dirs
