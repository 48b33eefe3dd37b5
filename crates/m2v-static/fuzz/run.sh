#!/bin/sh
# ./run.sh TARGET [libFuzzer options]: builds and runs one of this crate's fuzz targets
# (scripts/fuzz_run.sh, shared by every crate's fuzz package). No AddressSanitizer on
# stable Rust; the unsafe code these inputs reach (m2v-static's SIMD kernels and its
# uninitialized output buffer) is covered by m2v-static's own tests.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../scripts/fuzz_run.sh" "$here" "$@"
