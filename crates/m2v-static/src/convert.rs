//! Load-time dtype conversion of the embedding matrix (`LoadOptions::dtype`), following
//! Python model2vec's `quantize_embeddings`.

use crate::buffer::Buffer;
use crate::error::Error;
use crate::half::{f16_to_f32, f32_to_f16, f64_to_f16};
use crate::safetensors::Dtype;
use crate::table::Table;

/// Converts all stored columns of `t` to `to` (F32, F16, F64 or I8) into a new owned
/// table with the same `dim`. Converting to the stored dtype returns the table as is.
///
/// To I8: a global scale `max|E| / 127` in the source precision, each value rounded to
/// f16, divided by the scale (rounded to f16 again), rounded half-to-even, clipped to
/// ±127, as numpy does. The scale is not kept, so values come out 1/scale larger.
/// To F16: one rounding from the exact source value, as numpy's `astype(np.float16)`.
pub(crate) fn convert(t: &Table, to: Dtype) -> Result<Table, Error> {
    if !matches!(to, Dtype::F32 | Dtype::F16 | Dtype::F64 | Dtype::I8) {
        return Err(Error::InvalidOption {
            option: "dtype",
            message: format!("cannot convert embeddings to {to}; use F32, F16, F64 or I8"),
        });
    }
    if to == t.dtype {
        return Ok(t.clone());
    }
    let cols = t.stride;
    let n = t.rows * cols;
    // Every source value as f64 (exact for all source dtypes).
    let mut vals = Vec::with_capacity(n);
    let mut full = t.clone();
    full.dim = cols;
    let mut row = vec![0.0f32; cols];
    for r in 0..t.rows {
        match t.dtype {
            Dtype::F64 => {
                let bytes = full.row(r).unwrap_or(&[]);
                vals.extend(
                    bytes
                        .as_chunks::<8>()
                        .0
                        .iter()
                        .map(|b| f64::from_le_bytes(*b)),
                );
            }
            _ => {
                full.decode_row(r, &mut row);
                vals.extend(row.iter().map(|&x| f64::from(x)));
            }
        }
    }
    let bytes: Vec<u8> = match to {
        Dtype::F32 => vals
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect(),
        Dtype::F64 => vals.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        Dtype::F16 => vals
            .iter()
            .flat_map(|&v| f64_to_f16(v).to_le_bytes())
            .collect(),
        _ => {
            let max = vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let f16r = |x: f64| f64::from(f16_to_f32(f32_to_f16(x as f32)));
            let scale = match t.dtype {
                Dtype::F16 => f16r(max / 127.0),
                Dtype::F64 => max / 127.0,
                _ => f64::from(max as f32 / 127.0f32),
            };
            vals.iter()
                .map(|&v| {
                    let q = f16r(f16r(v) / scale).round_ties_even().clamp(-127.0, 127.0);
                    // NaN (0/0 scale) casts to 0, as numpy's int8 cast of NaN does on x86.
                    (q as i8) as u8
                })
                .collect()
        }
    };
    Ok(Table {
        buf: Buffer::from(bytes),
        start: 0,
        rows: t.rows,
        stride: cols,
        dim: t.dim,
        dtype: to,
    })
}
