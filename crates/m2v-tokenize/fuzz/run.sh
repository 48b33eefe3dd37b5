#!/bin/sh
# ./run.sh TARGET [libFuzzer options]: builds and runs one of this crate's fuzz targets
# (scripts/fuzz_run.sh, shared by every crate's fuzz package; m2v-tokenize forbids
# unsafe code). The `tokenize` target reads the shipped tokenizers from
# $M2V_TOKENIZERS (default: ../shared/data/tokenizers beside the repository).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../scripts/fuzz_run.sh" "$here" "$@"
