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
