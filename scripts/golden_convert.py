#!/usr/bin/env python3
"""Golden values for `m2v-cli convert` / `m2v_distill::convert` from Python model2vec 0.10.0.

Run with the project venv (model2vec==0.10.0, scikit-learn), offline, after
`cargo xtask fetch`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_convert.py generate
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_convert.py check BIN

`generate` loads each case's model with `StaticModel.from_pretrained`, applies
`quantize_model(model, vocabulary_quantization=..., quantize_to=..., dimensionality=...)`,
saves it with `save_pretrained` into a temporary folder, reads the saved
`model.safetensors` back and writes, under `crates/m2v-distill/tests/fixtures/convert/`:

- `golden.json`: per case the model, the options, the saved tensors' dtype, shape and
  sha256 (of their little-endian bytes), the saved `config.json` values, the texts, and
  the output file;
- `out/<case>.f32`: `encode(texts)` of the converted model (little-endian f32).

`check BIN` runs `BIN convert` (an m2v-cli) for every case into a temporary folder, loads
the result with Python model2vec 0.10.0, and compares its `encode(texts)` with the
Python-converted model's: the interop direction the Rust tests cannot run. It prints one
line per case and exits non-zero on a mismatch (tolerance: max |diff| <= 1e-6 for cases
without vocabulary quantization; for k-means cases, whose clusterings differ, it prints
the mean cosine of each model's outputs to the unconverted model's).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from huggingface_hub import snapshot_download
from model2vec import StaticModel, quantize_model
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "convert"

TEXTS = [
    "It's dangerous to go alone! Take this.",
    "The quick brown fox jumps over the lazy dog.",
    "Static embeddings are a table lookup and a mean.",
    "A rather unusual word: antidisestablishmentarianism.",
    "Numbers like 3.14159 and 2026 appear too.",
    "café, naïve, façade",
    "",
    "short",
]

# (case, hub id, options)
CASES = [
    ("potion_f16", "minishlab/potion-base-8M", {"quantize_to": "float16"}),
    ("potion_int8", "minishlab/potion-base-8M", {"quantize_to": "int8"}),
    ("potion_dim64", "minishlab/potion-base-8M", {"dimensionality": 64}),
    ("potion_int8_dim128", "minishlab/potion-base-8M", {"quantize_to": "int8", "dimensionality": 128}),
    ("tokenlearn_f32", "pypi/tokenlearn-static-model", {"quantize_to": "float32"}),
    ("tokenlearn_dim32", "pypi/tokenlearn-static-model", {"dimensionality": 32}),
    ("potion_vq16", "minishlab/potion-base-8M", {"vocabulary_quantization": 16}),
]

FLAGS = {
    "quantize_to": "--quantize-to",
    "dimensionality": "--dimensionality",
    "vocabulary_quantization": "--vocabulary-quantization",
}


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def convert_in_python(model_id: str, opts: dict, folder: Path) -> StaticModel:
    model = StaticModel.from_pretrained(snapshot_download(model_id))
    converted = quantize_model(model, **opts)
    converted.save_pretrained(str(folder))
    return StaticModel.from_pretrained(str(folder))


def generate() -> None:
    (OUT / "out").mkdir(parents=True, exist_ok=True)
    cases = []
    for name, model_id, opts in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / name
            model = convert_in_python(model_id, opts, folder)
            tensors = load_file(str(folder / "model.safetensors"))
            config = json.loads((folder / "config.json").read_text())
            emb = model.encode(TEXTS)
        np.asarray(emb, dtype="<f4").tofile(OUT / "out" / f"{name}.f32")
        cases.append(
            {
                "name": name,
                "model": model_id,
                "options": opts,
                "tensors": {
                    k: {"dtype": str(v.dtype), "shape": list(v.shape), "sha256": sha256(v)}
                    for k, v in tensors.items()
                },
                "config": config,
                "output": f"out/{name}.f32",
                "shape": list(emb.shape),
            }
        )
        print(name, {k: (str(v.dtype), v.shape) for k, v in tensors.items()})
    golden = {
        "generator": "scripts/golden_convert.py (model2vec 0.10.0)",
        "texts": TEXTS,
        "cases": cases,
    }
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


def check(binary: str) -> None:
    bad = 0
    for name, model_id, opts in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            ours = Path(tmp) / "ours"
            args = [binary, "convert", "--model", model_id, "--output", str(ours), "--quiet"]
            for k, v in opts.items():
                args += [FLAGS[k], str(v)]
            subprocess.run(args, check=True)
            py = convert_in_python(model_id, opts, Path(tmp) / "py")
            a = StaticModel.from_pretrained(str(ours)).encode(TEXTS)
            b = py.encode(TEXTS)
            if "vocabulary_quantization" in opts:
                base = StaticModel.from_pretrained(snapshot_download(model_id)).encode(TEXTS)

                def mean_cos(x: np.ndarray) -> float:
                    n = np.linalg.norm(x, axis=1) * np.linalg.norm(base, axis=1)
                    keep = n > 0
                    return float(np.mean(np.sum(x * base, axis=1)[keep] / n[keep]))

                print(f"{name}: mean cosine to the unconverted model: ours {mean_cos(a):.4f}, python {mean_cos(b):.4f}")
                continue
            d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
            ok = a.shape == b.shape and d <= 1e-6
            bad += not ok
            print(f"{name}: Python loads ours, max |diff| to Python's own conversion {d:.2e} {'ok' if ok else 'MISMATCH'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "generate":
        generate()
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
