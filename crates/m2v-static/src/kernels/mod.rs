//! The row kernels of the hot loop: summing a text's embedding rows, dividing by the
//! count and normalizing, for each stored dtype and each vector unit.
//!
//! - `portable.rs`: row decoding ([`portable::Row`]), column-tile sums, division,
//!   numpy's normalization and the exact int8 mean, in plain Rust for any target.
//! - `avx2.rs`: those compiled with AVX2, and the f16 tile sum with F16C.
//! - `avx512.rs`: those compiled with AVX-512, 16-register tile sums with rows
//!   prefetched ahead, and the whole pooling of a 64- to 256-wide row in registers.
//!
//! Which kernel runs is decided in `table.rs` ([`crate::table::Lookup::pool`] and the
//! dispatch functions there), by dtype, width and the CPU's features at run time.
//! Invariant: every kernel adds the same values in the same order per column and fuses
//! no multiply with an add, so all of them give the portable kernels' bits.

pub(crate) mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

/// Rows ahead of the current one that the register paths prefetch; `encode` prefetches
/// this many first rows of the next text, which the summing of that text does not.
/// Six measured faster than four or eight (see docs/bench.md, "Tuning notes").
pub(crate) const AHEAD: usize = 6;

/// The vector units the kernels may use: the CPU's, found at run time, optionally
/// capped by the environment variable `M2V_KERNELS` (`portable`, `avx2` or `avx512`),
/// read once. The cap only ever lowers the level, so a kernel is never chosen for a
/// unit the CPU lacks; it exists to measure and test every path on one machine (all
/// paths give the same bits; see docs/bench.md, "Whole-process encode"). An unknown
/// value is no cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelLevel {
    /// Plain Rust, compiled for the target's baseline.
    Portable,
    /// AVX2 (with F16C and FMA where the CPU has them; no FMA is ever used).
    Avx2,
    /// AVX-512F and AVX-512BW.
    Avx512,
}

impl KernelLevel {
    /// The level's name, as `M2V_KERNELS` spells it.
    pub fn name(self) -> &'static str {
        match self {
            KernelLevel::Portable => "portable",
            KernelLevel::Avx2 => "avx2",
            KernelLevel::Avx512 => "avx512",
        }
    }
}

/// The cap from `M2V_KERNELS`: 0 not read yet, else `KernelLevel as u8 + 1`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
static CAP: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn cap() -> KernelLevel {
    use std::sync::atomic::Ordering::Relaxed;
    let levels = [
        KernelLevel::Portable,
        KernelLevel::Avx2,
        KernelLevel::Avx512,
    ];
    match CAP.load(Relaxed) {
        0 => {
            let c = match std::env::var("M2V_KERNELS").as_deref() {
                Ok("portable") => KernelLevel::Portable,
                Ok("avx2") => KernelLevel::Avx2,
                _ => KernelLevel::Avx512,
            };
            CAP.store(c as u8 + 1, Relaxed);
            c
        }
        v => levels[usize::from(v - 1).min(2)],
    }
}

/// The widest kernels this process uses (see [`KernelLevel`]).
pub fn kernel_level() -> KernelLevel {
    if has_avx512() {
        KernelLevel::Avx512
    } else if has_avx2() {
        KernelLevel::Avx2
    } else {
        KernelLevel::Portable
    }
}

/// AVX-512F and AVX-512BW may be used: the CPU has them and the cap allows them.
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && cap() >= KernelLevel::Avx512
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// AVX2 may be used: the CPU has it and the cap allows it.
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && cap() >= KernelLevel::Avx2
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// AVX2 and F16C may be used (the f16 kernels of the AVX2 level).
#[inline]
pub(crate) fn has_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx2() && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}
