#!/usr/bin/env python3
"""Distils all-MiniLM-L6-v2 with Python `model2vec==0.10.0` and with `m2v-cli distill`,
into `target/distilled/`, for the quality comparison in `cargo xtask bench`.

Run with the project venv, offline, after `cargo xtask fetch` and a release build of
m2v-cli (`cargo build --release -p m2v-cli`):

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/distill_models.py [--m2v-cli BIN]

Folders written (each a complete model2vec model; an existing one is replaced):

- `python-minilm-pca256`: `model2vec.distill.distill(<snapshot>, pca_dims=256)`, the
  reference's defaults otherwise (float16, SIF 1e-4, the default token pattern).
- `m2v-minilm-pca256`: `m2v-cli distill --pca-dims 256` (the same settings).
- `m2v-minilm-pca256-int8`: the same with `--quantize-to int8`.
- `m2v-minilm-wordfreq`: vocabulary mode, `--vocabulary` with the 20000 most frequent
  words of wordfreq's `small_en` (the teacher's own vocabulary plus the new words).

Then score them, e.g. STS-B only:

    cargo xtask bench --no-python --tasks STS-B --models \\
        dir:target/distilled/python-minilm-pca256,dir:target/distilled/m2v-minilm-pca256

Prints the wall-clock time of each distillation.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from golden_distill import snapshot, wordfreq_words  # noqa: E402

TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
VOCAB_WORDS = 20000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m2v-cli", default=None, help="m2v-cli binary (default: target/release/m2v-cli)")
    ap.add_argument("--out", default=str(ROOT / "target" / "distilled"))
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--skip-m2v", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    cli = args.m2v_cli or str(target / "release" / "m2v-cli")
    snap = snapshot(TEACHER)

    if not args.skip_python:
        from model2vec.distill import distill

        dest = out / "python-minilm-pca256"
        t = time.perf_counter()
        model = distill(model_name=str(snap), pca_dims=256)
        shutil.rmtree(dest, ignore_errors=True)
        model.save_pretrained(str(dest))
        print(f"python-minilm-pca256: {time.perf_counter() - t:.1f} s", flush=True)

    if args.skip_m2v:
        return 0
    vocab_file = out / "wordfreq-20000.txt"
    vocab_file.write_text("\n".join(wordfreq_words(VOCAB_WORDS)) + "\n", encoding="utf-8")
    runs = [
        ("m2v-minilm-pca256", ["--pca-dims", "256"]),
        ("m2v-minilm-pca256-int8", ["--pca-dims", "256", "--quantize-to", "int8"]),
        ("m2v-minilm-wordfreq", ["--pca-dims", "256", "--vocabulary", str(vocab_file)]),
    ]
    for name, extra in runs:
        t = time.perf_counter()
        subprocess.run(
            [cli, "distill", "--model", TEACHER, "--output", str(out / name), "--force", *extra],
            check=True,
        )
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
