#!/usr/bin/env python3
"""Golden values for crates/m2v-reduce, from Python model2vec 0.10.0's own functions.

Run: HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_reduce.py
Writes crates/m2v-reduce/tests/fixtures/reduce.json and a few little-endian .bin arrays.

The input matrix is not stored: both sides generate it with the same SplitMix64 stream
and the same f64 loop (see `matrix()` here and `tests/golden.rs`), and the JSON carries a
checksum so the Rust test proves it rebuilt the identical matrix.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import model2vec
from model2vec.distill.inference import _pca_fit_transform, apply_pca, compute_weights
from model2vec.quantization import DType, quantize_embeddings
from model2vec.vocabulary_quantization import quantize_vocabulary

assert model2vec.__version__ == "0.10.0", model2vec.__version__
logging.basicConfig(level=logging.WARNING)

OUT = Path(__file__).resolve().parent.parent / "crates" / "m2v-reduce" / "tests" / "fixtures"
ROWS, COLS, SEED = 256, 32, 20240607
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self) -> float:
        """Uniform in [-1, 1) with 24 random bits (exact in f32 and f64)."""
        return (self.next_u64() >> 40) / float(1 << 24) * 2.0 - 1.0


def matrix(rows: int, cols: int, seed: int) -> np.ndarray:
    """X = U diag(s) A + offset, summed in f64 in a fixed order, rounded once to f32.

    s_j = 2^(-j/4) gives a decaying, well-separated spectrum; A mixes the axes so the
    components are not the coordinate axes; the offset makes centring matter.
    """
    g = SplitMix64(seed)
    a = [[g.uniform() for _ in range(cols)] for _ in range(cols)]
    offset = [g.uniform() * 3.0 for _ in range(cols)]
    s = [2.0 ** (-j / 4.0) for j in range(cols)]
    out = np.empty((rows, cols), dtype=np.float32)
    for i in range(rows):
        u = [g.uniform() for _ in range(cols)]
        for col in range(cols):
            acc = offset[col]
            for j in range(cols):
                acc += u[j] * s[j] * a[j][col]
            out[i, col] = np.float32(acc)
    return out


def save(name: str, arr: np.ndarray) -> str:
    arr = np.ascontiguousarray(arr)
    (OUT / name).write_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    return name


def potion() -> dict | None:
    from huggingface_hub import try_to_load_from_cache
    from safetensors.numpy import load_file

    path = try_to_load_from_cache("minishlab/potion-base-8M", "model.safetensors")
    if not isinstance(path, str):
        print("potion-base-8M not in the HF cache: skipping the real-data fixture")
        return None
    e32 = load_file(path)["embeddings"].astype(np.float32)
    e64 = e32.astype(np.float64)
    out: dict = {"repo": "minishlab/potion-base-8M", "rows": int(e32.shape[0]), "cols": int(e32.shape[1])}
    for dims in [64, 0.9]:
        s64, ev64, evr64 = _pca_fit_transform(e64.copy(), dims)
        s32 = apply_pca(e32.copy(), dims)
        assert s32.shape == s64.shape
        case = {"out_cols": int(s64.shape[1]), "explained_variance_ratio_f64": [float(v) for v in evr64]}
        if dims == 64:
            # The first 8 rows of the scores (reference run on f64 input, and as it runs).
            case["scores_head_f64ref"] = [float(v) for v in s64[:8].astype(np.float32).reshape(-1)]
            case["scores_head_f32ref"] = [float(v) for v in s32[:8].reshape(-1)]
        out[str(dims)] = case
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x32 = matrix(ROWS, COLS, SEED)
    x64 = x32.astype(np.float64)
    fx: dict = {
        "model2vec": model2vec.__version__,
        "numpy": np.__version__,
        "rows": ROWS,
        "cols": COLS,
        "seed": SEED,
        "checksum_f64_sum": float(x64.sum(dtype=np.float64)),
        "first_bits": [int(v) for v in x32.reshape(-1)[:8].view(np.uint32)],
        "last_bits": [int(v) for v in x32.reshape(-1)[-8:].view(np.uint32)],
    }

    # PCA. `apply_pca` is the reference path (f32 in, f32 arithmetic); the same function on
    # the f64 copy gives the exact PCA to compare our f64-accumulated one against.
    cases = []
    for dims in [16, 0.9, 0.99, "auto", None, 100, ROWS, ROWS - 1, 40.0]:
        out32 = apply_pca(x32.copy(), dims)
        out64 = apply_pca(x64.copy(), dims)
        applied = out32.shape[1] != COLS or not np.array_equal(out32, x32)
        case = {"dims": dims, "applied": bool(applied), "out_cols": int(out32.shape[1])}
        if applied:
            k = dims
            if dims == "auto" or (not isinstance(dims, float) and dims > COLS) or (isinstance(dims, float) and dims > COLS):
                k = COLS
            _, ev64, evr64 = _pca_fit_transform(x64.copy(), k)
            _, ev32, evr32 = _pca_fit_transform(x32.copy(), k)
            case["explained_variance_f64"] = [float(v) for v in ev64]
            case["explained_variance_ratio_f64"] = [float(v) for v in evr64]
            case["explained_variance_ratio_f32"] = [float(v) for v in evr32]
            assert out64.shape == out32.shape, (dims, out64.shape, out32.shape)
        if dims in (16, "auto"):
            tag = "k16" if dims == 16 else "auto"
            case["scores_f64ref"] = save(f"pca_{tag}_f64ref.f32", out64.astype(np.float32))
            case["scores_f32ref"] = save(f"pca_{tag}_f32ref.f32", out32.astype(np.float32))
        cases.append(case)
    fx["pca"] = cases

    # Few rows: the `pca_dims >= rows` skip (after the clamp to the column count).
    small = x32[:20].copy()
    small_cases = []
    for dims in [16, 19, 20, 25, "auto", 0.9, 19.5, 20.0]:
        out = apply_pca(small.copy(), dims)
        applied = out.shape[1] != COLS or not np.array_equal(out, small)
        small_cases.append({"dims": dims, "applied": bool(applied), "out_cols": int(out.shape[1])})
    fx["pca_small_rows"] = 20
    fx["pca_small"] = small_cases

    # SIF weights (f64): a strided sample for several sizes, compared bit for bit.
    sif = []
    for n, coef in [(1, 1e-4), (7, 0.5), (300, 1e-4), (30522, 1e-4), (250_000, 1e-3)]:
        w = compute_weights(n, coef)
        idx = sorted(set(list(range(0, n, max(1, n // 300))) + [n - 1]))
        sif.append({"n": n, "coefficient": coef, "index": idx, "bits": [int(v) for v in w[idx].view(np.uint64)]})
    fx["sif"] = sif

    # Quantization. f32 source (vocabulary-quantization path) and the default path's f64
    # source `x32 * weights[:, None]` with SIF weights.
    weights = compute_weights(ROWS, 1e-4)
    prod = x32 * weights[:, None]
    assert prod.dtype == np.float64
    fx["quantize_weights_sif"] = 1e-4
    quant = {}
    for src_name, src in [("f32", x32), ("f64", prod)]:
        for dt in [DType.Float16, DType.Float32, DType.Int8]:
            q = quantize_embeddings(src.copy(), dt)
            quant[f"{src_name}_{dt.value}"] = {"dtype": str(q.dtype), "file": save(f"quant_{src_name}_{dt.value}.bin", q)}
    fx["quantize"] = quant

    # f16 rounding of tricky values (ties, double-rounding traps, subnormals, overflow).
    specials = [0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 2.0**-24, 2.0**-25,
                2.0**-25 * (1 + 2.0**-30), 3 * 2.0**-26, 1 + 2.0**-11, 1 + 3 * 2.0**-11,
                1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-11 - 2.0**-40, -(1 + 2.0**-11 + 2.0**-40),
                6.1e-5, 6.0975552e-5, 0.1, 1 / 3, float(np.float32(1 / 3)), 1e-8, 1e-30]
    fx["f16_specials"] = [
        {"value": v, "from_f64": int(np.array([v], np.float64).astype(np.float16).view(np.uint16)[0]),
         "from_f32": int(np.array([v], np.float32).astype(np.float16).view(np.uint16)[0])}
        for v in specials
    ]

    # Vocabulary quantization: not bit-reproducible, so record the reference's inertia and
    # the dtypes of what it saves.
    vq = {}
    for k in [8, 32]:
        centres, mapping, w = quantize_vocabulary(n_clusters=k, weights=compute_weights(ROWS, 1e-4), embeddings=x32.copy())
        inertia = float(((x32.astype(np.float64) - centres.astype(np.float64)[mapping]) ** 2).sum())
        vq[str(k)] = {"inertia": inertia, "centres_dtype": str(centres.dtype), "mapping_dtype": str(mapping.dtype),
                      "weights_dtype": str(w.dtype), "distinct_clusters": int(len(set(mapping.tolist())))}
    fx["vocabulary_quantization"] = vq

    # Real embeddings: potion-base-8M's matrix (29528 x 256), when it is in the HF cache.
    fx["potion"] = potion()

    (OUT / "reduce.json").write_text(json.dumps(fx, separators=(",", ":")) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
