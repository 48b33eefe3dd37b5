//! IEEE 754 binary16 conversions with round-to-nearest-even, as NumPy's `astype(np.float16)`.
//!
//! Written here rather than taken from a crate so that the f64 -> f16 conversion rounds
//! once, directly from the f64 value (NumPy does; going through f32 would round twice).

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

/// Converts an `f32` to binary16 bits, rounding to nearest, ties to even.
///
/// Overflow gives ±infinity, values below half the smallest subnormal give ±0,
/// NaN gives a quiet NaN with the sign and the top payload bits kept.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = u64::from(b & 0x007f_ffff);
    if exp == 0xff {
        return if man == 0 {
            sign | 0x7c00
        } else {
            sign | 0x7e00 | (man >> 13) as u16
        };
    }
    if exp == 0 {
        // f32 subnormals (< 2^-126) are far below the f16 range.
        return sign;
    }
    sign | round_to_f16(exp - 127, man | (1 << 23), 23)
}

/// Converts an `f64` to binary16 bits with a single rounding (nearest, ties to even).
///
/// Same special cases as [`f32_to_f16_bits`].
pub fn f64_to_f16_bits(x: f64) -> u16 {
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

/// Converts binary16 bits to the `f32` of the same value (exact).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x03ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: m * 2^-24, exactly representable as a normal f32.
            let v = m as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f32, expected: u16) {
        assert_eq!(f32_to_f16_bits(x), expected, "f32 {x:e}");
        assert_eq!(f64_to_f16_bits(f64::from(x)), expected, "f64 {x:e}");
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
        assert!(f16_bits_to_f32(f32_to_f16_bits(f32::NAN)).is_nan());
    }

    #[test]
    fn f64_rounds_once() {
        // 1 + 2^-11 + 2^-40: above the tie in f64, but f32 rounding would land on the
        // tie and then round to even (down). A direct conversion rounds up.
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(f64_to_f16_bits(x), 0x3c01);
        assert_eq!(f32_to_f16_bits(x as f32), 0x3c00);
    }

    #[test]
    fn every_f16_round_trips() {
        for h in 0..=u16::MAX {
            let v = f16_bits_to_f32(h);
            if v.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16_bits(v), h, "bits {h:#06x}");
            assert_eq!(f64_to_f16_bits(f64::from(v)), h, "bits {h:#06x}");
        }
    }
}
