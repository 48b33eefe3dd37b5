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

/// Converts bfloat16 bits to `f32` (exact: bf16 is the top half of an f32).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

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
