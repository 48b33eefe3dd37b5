//! IEEE 754 binary16 and bfloat16 conversions, written without branches so that the
//! compiler vectorises the row kernels that use them.

/// Converts IEEE binary16 bits to `f32`, exactly (every f16 is an f32), including
/// subnormals, infinities and NaN (the payload is kept, as numpy does).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    const EXP_MASK: u32 = 0x7c00 << 13;
    // 2^-14 as f32 bits: the value of the f16 exponent field 1, used to renormalise
    // subnormals with one float subtraction.
    const MAGIC: u32 = 113 << 23;
    let h = u32::from(h);
    let sign = (h & 0x8000) << 16;
    let shifted = (h & 0x7fff) << 13;
    let exp = shifted & EXP_MASK;
    let normal = shifted + ((127 - 15) << 23);
    let inf_nan = normal + ((128 - 16) << 23);
    let sub = (f32::from_bits(normal + (1 << 23)) - f32::from_bits(MAGIC)).to_bits();
    let bits = if exp == EXP_MASK {
        inf_nan
    } else if exp == 0 {
        sub
    } else {
        normal
    };
    f32::from_bits(bits | sign)
}

/// Converts `f32` to IEEE binary16 bits with round-to-nearest-even (overflow gives
/// infinity, NaN stays NaN), as numpy's `astype(np.float16)` does.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x007f_ffff;
    if exp == 0xff {
        // Inf or NaN (keep a quiet NaN with the top payload bits).
        let nan = if man != 0 {
            0x0200 | (man >> 13) as u16
        } else {
            0
        };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal f16 (or zero): shift the full significand into place and round.
        if e < -10 {
            return sign;
        }
        let m = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rest > half || (rest == half && (r & 1) == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && (r & 1) == 1) {
        // A carry into the exponent is the correct result (up to infinity).
        r += 1;
    }
    sign | r as u16
}

/// Converts an `f64` to binary16 bits with a single rounding (nearest, ties to even), as
/// numpy's `astype(np.float16)` of a float64 array does (going through f32 would round
/// twice).
///
/// Same special cases as [`f32_to_f16`].
pub fn f64_to_f16(x: f64) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 48) & 0x8000) as u16;
    let exp = ((b >> 52) & 0x7ff) as i32;
    let man = b & ((1u64 << 52) - 1);
    if exp == 0x7ff {
        return if man == 0 {
            sign | 0x7c00
        } else {
            sign | 0x7e00 | (man >> 42) as u16
        };
    }
    if exp == 0 {
        return sign;
    }
    sign | round_to_f16(exp - 1023, man | (1 << 52), 52)
}

/// Rounds a finite, normal value `1.m * 2^exp` to binary16 bits (without the sign).
///
/// `sig` holds the significand with its implicit leading one at bit `p` (so
/// `sig >> p == 1`); `exp` is the unbiased binary exponent.
fn round_to_f16(exp: i32, sig: u64, p: u32) -> u16 {
    // f16 biased exponent of the value.
    let e = exp + 15;
    if e >= 31 {
        return 0x7c00;
    }
    // Number of low bits of `sig` to drop. Normal: keep 10 fraction bits. Subnormal
    // (e <= 0): the value is sig * 2^(exp - p) and the f16 unit is 2^-24.
    let shift = if e > 0 {
        p - 10
    } else {
        let s = i64::from(p) - 10 + 1 - i64::from(e);
        if s > 63 {
            // Far below half the smallest subnormal (2^-25): rounds to zero.
            return 0;
        }
        s as u32
    };
    let kept = sig >> shift;
    let rem = sig & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let mut q = kept;
    if rem > half || (rem == half && (kept & 1) == 1) {
        q += 1;
    }
    if e > 0 {
        // `q` is in [0x400, 0x800]: the implicit one sits at bit 10; a carry into bit 11
        // bumps the exponent, which the addition does by itself.
        let bits = ((e as u64) << 10) + (q - 0x400);
        if bits >= 0x7c00 { 0x7c00 } else { bits as u16 }
    } else {
        // Subnormal; q == 0x400 is the smallest normal and encodes correctly as-is.
        q as u16
    }
}

/// Converts bfloat16 bits to `f32` (exact: bf16 is the top half of an f32).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f32, expected: u16) {
        assert_eq!(f32_to_f16(x), expected, "f32 {x:e}");
        assert_eq!(f64_to_f16(f64::from(x)), expected, "f64 {x:e}");
    }

    #[test]
    fn known_values() {
        check(0.0, 0x0000);
        check(-0.0, 0x8000);
        check(1.0, 0x3c00);
        check(-2.0, 0xc000);
        check(65504.0, 0x7bff);
        check(65520.0, 0x7c00); // ties to even rounds up to infinity
        check(65519.0, 0x7bff);
        check(f32::INFINITY, 0x7c00);
        check(5.960_464_5e-8, 0x0001); // 2^-24
        check(2.980_232_2e-8, 0x0000); // 2^-25: tie, rounds to even (zero)
        check(2.980_232_5e-8, 0x0001); // just above 2^-25
        check(6.097_555e-5, 0x03ff); // largest subnormal
        check(6.103_515_6e-5, 0x0400); // smallest normal
        check(1.000_488_3, 0x3c00); // 1 + 2^-11: tie, to even
        check(1.001_464_8, 0x3c02); // 1 + 3*2^-11: tie, to even (up)
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        assert!(f16_to_f32(f64_to_f16(f64::NAN)).is_nan());
    }

    #[test]
    fn f64_rounds_once() {
        // 1 + 2^-11 + 2^-40: above the tie in f64, but f32 rounding would land on the
        // tie and then round to even (down). A direct conversion rounds up.
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(f64_to_f16(x), 0x3c01);
        assert_eq!(f32_to_f16(x as f32), 0x3c00);
    }

    #[test]
    fn every_f16_round_trips_through_f64() {
        for h in 0..=u16::MAX {
            let v = f16_to_f32(h);
            if v.is_nan() {
                continue;
            }
            assert_eq!(f64_to_f16(f64::from(v)), h, "bits {h:#06x}");
        }
    }

    /// The value of f16 bits by the definition of the format, in f64.
    fn reference(h: u16) -> f64 {
        let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let e = i32::from((h >> 10) & 0x1f);
        let m = f64::from(h & 0x3ff);
        match e {
            0 => sign * m * 2f64.powi(-24),
            0x1f if m == 0.0 => sign * f64::INFINITY,
            0x1f => f64::NAN,
            _ => sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
        }
    }

    #[test]
    fn every_f16_converts_exactly() {
        for h in 0..=u16::MAX {
            let got = f16_to_f32(h);
            let want = reference(h);
            if want.is_nan() {
                assert!(got.is_nan(), "{h:#06x}");
                assert_eq!(
                    got.to_bits() & 0x007f_ffff,
                    u32::from(h & 0x3ff) << 13,
                    "{h:#06x}"
                );
            } else {
                assert_eq!(f64::from(got), want, "{h:#06x}");
                assert_eq!(got.is_sign_negative(), h & 0x8000 != 0, "{h:#06x}");
            }
        }
    }

    #[test]
    fn f32_to_f16_round_trips_and_rounds_to_even() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                assert!(f16_to_f32(f32_to_f16(x)).is_nan());
            } else {
                assert_eq!(f32_to_f16(x), h, "{h:#06x}");
            }
        }
        // Halfway between 1.0 and the next f16 (1 + 2^-10): ties to even (1.0).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // Halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (1 + 2^-9).
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        // Smallest subnormal and half of it (ties to even: zero).
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(f32_to_f16(3.0 * 2f32.powi(-26)), 0x0001);
        assert_eq!(f32_to_f16(-1e-10), 0x8000);
    }

    #[test]
    fn bf16() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc000), -2.0);
    }
}
