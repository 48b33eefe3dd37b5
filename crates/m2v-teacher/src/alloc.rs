//! Allocator tuning for Burn's many short-lived tensor buffers.
//!
//! Every op of the CPU backend allocates its output. With glibc's defaults, buffers
//! above the (dynamic) mmap threshold are mapped fresh and unmapped on free, so each op
//! pays page faults to zero new pages. Raising the mmap threshold to glibc's maximum
//! (32 MiB on 64-bit) and the trim threshold to 1 GiB lets freed buffers be reused from
//! the heap, which measured faster on the distillation workload (`docs/bench.md`,
//! "Tuning notes"). Applied once per process, on the first
//! [`crate::Teacher::load`]; a no-op outside Linux with glibc.

/// Applies the tuning once; later calls do nothing.
pub(crate) fn tune_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(tune);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only changes glibc allocator parameters; any value is accepted
    // or rejected (returning 0), never undefined behaviour, and it is thread-safe.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune() {}
