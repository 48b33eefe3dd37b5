//! Casting the final embeddings (`model2vec.quantization.quantize_embeddings`).

use crate::error::{Error, check_shape};
use m2v_static::{
    Dtype, f16_to_f32 as f16_bits_to_f32, f32_to_f16 as f32_to_f16_bits,
    f64_to_f16 as f64_to_f16_bits,
};

/// A tensor ready for a safetensors writer.
///
/// Invariant: `bytes.len() == shape.iter().product::<usize>() * dtype.size()`, elements
/// little-endian in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// Element type.
    pub dtype: Dtype,
    /// `[rows, cols]`.
    pub shape: [usize; 2],
    /// Little-endian row-major elements.
    pub bytes: Vec<u8>,
}

/// The two input precisions the reference quantizes from: `f32` (no SIF multiplication,
/// as in the vocabulary-quantization path) and `f64` (after `embeddings * weights[:, None]`
/// with `f64` weights, the default path). The precision changes the int8 arithmetic.
trait Source: Copy {
    fn f64(self) -> f64;
    fn to_f16(self) -> u16;
}

impl Source for f32 {
    fn f64(self) -> f64 {
        f64::from(self)
    }
    fn to_f16(self) -> u16 {
        f32_to_f16_bits(self)
    }
}

impl Source for f64 {
    fn f64(self) -> f64 {
        self
    }
    fn to_f16(self) -> u16 {
        f64_to_f16_bits(self)
    }
}

/// `np.rint` of an f16 value (an integer or NaN afterwards), clipped to ±127, as int8.
/// NaN (only from an all-zero matrix, where the reference divides 0 by 0) becomes 0.
fn rint_clip(h: u16) -> u8 {
    let v = f16_bits_to_f32(h);
    if v.is_nan() {
        return 0;
    }
    (v.round_ties_even().clamp(-127.0, 127.0) as i8) as u8
}

fn encode<S: Source>(
    values: impl ExactSizeIterator<Item = S> + Clone,
    to: Dtype,
    f32_source: bool,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * to.size());
    match to {
        Dtype::F16 => values.for_each(|v| bytes.extend_from_slice(&v.to_f16().to_le_bytes())),
        // A single rounding from the source value (exact when the source is f32).
        Dtype::F32 => values.for_each(|v| bytes.extend_from_slice(&(v.f64() as f32).to_le_bytes())),
        Dtype::F64 => values.for_each(|v| bytes.extend_from_slice(&v.f64().to_le_bytes())),
        Dtype::I8 => {
            let max = values.clone().fold(0.0f64, |m, v| m.max(v.f64().abs()));
            if f32_source {
                // `np.max(np.abs(e32)) / 127.0` is an np.float32; f16 / f32 runs in f32.
                let scale = max as f32 / 127.0f32;
                values.for_each(|v| {
                    let q = f16_bits_to_f32(v.to_f16()) / scale;
                    bytes.push(rint_clip(f32_to_f16_bits(q)));
                });
            } else {
                // An np.float64 scale: f16 / f64 runs in f64 (NumPy 2 promotion).
                let scale = max / 127.0;
                values.for_each(|v| {
                    let q = f64::from(f16_bits_to_f32(v.to_f16())) / scale;
                    bytes.push(rint_clip(f64_to_f16_bits(q)));
                });
            }
        }
        // Refused by `check_dtype` before any work.
        _ => {}
    }
    bytes
}

/// The reference quantizes to these only (`model2vec.quantization.DType`).
fn check_dtype(to: Dtype) -> Result<(), Error> {
    if Dtype::STORABLE.contains(&to) {
        Ok(())
    } else {
        Err(Error::UnsupportedDtype(to))
    }
}

/// Casts an `f32` matrix to `to`, as the reference's `quantize_embeddings` on an `f32` array
/// (the vocabulary-quantization path, or any path without weights).
///
/// - `F16`: round to nearest even; `F32`: unchanged; `F64`: exact.
/// - `I8`: `scale = max|E| / 127` in `f32`; each value rounded to f16, divided by the scale
///   in `f32`, rounded to f16 again, `rint` (ties to even), clipped to ±127. The scale is not
///   returned (the reference does not save it). An all-zero matrix gives zeros (the
///   reference divides by zero there).
pub fn quantize(data: &[f32], rows: usize, cols: usize, to: Dtype) -> Result<Quantized, Error> {
    check_shape(data.len(), rows, cols)?;
    check_dtype(to)?;
    Ok(Quantized {
        dtype: to,
        shape: [rows, cols],
        bytes: encode(data.iter().copied(), to, true),
    })
}

/// Multiplies row `i` by `weights[i]` in `f64` and casts the product to `to`, as the
/// reference's default path: `quantize_embeddings(embeddings * weights[:, None], quantize_to)`
/// with `f32` embeddings and `f64` SIF weights, so a product rounded once to the target.
///
/// `I8` as in [`quantize`], but the scale and the division are `f64` (NumPy 2 promotes the
/// f16 buffer divided by an `np.float64` scale to `f64`).
pub fn quantize_weighted(
    data: &[f32],
    rows: usize,
    cols: usize,
    weights: &[f64],
    to: Dtype,
) -> Result<Quantized, Error> {
    check_shape(data.len(), rows, cols)?;
    check_dtype(to)?;
    if weights.len() != rows {
        return Err(Error::PerRowLength {
            what: "weights",
            rows,
            len: weights.len(),
        });
    }
    let products = data
        .iter()
        .enumerate()
        .map(|(i, &v)| f64::from(v) * weights[i / cols.max(1)]);
    Ok(Quantized {
        dtype: to,
        shape: [rows, cols],
        bytes: encode(products, to, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reference_dtypes() {
        assert!(quantize(&[1.0; 4], 2, 2, Dtype::BF16).is_err());
        assert!(quantize_weighted(&[1.0; 4], 2, 2, &[1.0; 2], Dtype::U8).is_err());
    }

    #[test]
    fn int8_symmetric_scale() {
        let q =
            quantize(&[1.0, -0.5, 0.25, -1.0], 2, 2, Dtype::I8).unwrap_or_else(|e| panic!("{e}"));
        // 0.5 * 127 = 63.5 ties to even (64); 0.25 * 127 = 31.75 -> f16 31.75 -> 32.
        assert_eq!(q.bytes, [127u8, (-64i8) as u8, 32, (-127i8) as u8]);
        let z = quantize(&[0.0; 4], 2, 2, Dtype::I8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(z.bytes, [0; 4]);
    }

    #[test]
    fn weighted_checks_lengths() {
        assert!(quantize_weighted(&[1.0; 4], 2, 2, &[1.0], Dtype::F32).is_err());
        let q = quantize_weighted(&[1.0, 2.0, 3.0, 4.0], 2, 2, &[0.5, 2.0], Dtype::F64)
            .unwrap_or_else(|e| panic!("{e}"));
        let back: Vec<f64> = q
            .bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        assert_eq!(back, [0.5, 1.0, 6.0, 8.0]);
    }
}
