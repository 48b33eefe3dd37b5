#!/usr/bin/env python3
"""Python model2vec 0.10.0's distillation of EmbeddingGemma-300M, whole or on a slice.

Run with the project venv, offline, after `cargo xtask fetch embeddinggemma-300m`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_embeddinggemma.py slice
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_embeddinggemma.py slice-mpnet
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_embeddinggemma.py full OUT_DIR
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_embeddinggemma.py compare OURS THEIRS

`slice`: `distill(model_name=<snapshot>, pca_dims=256, token_remove_pattern=SLICE)`,
where SLICE removes every token but about 2,200 across four scripts (Latin words
starting `▁ba`/`▁be`..., Cyrillic `▁к`..., Devanagari `▁क`..., single CJK characters
U+4E00-U+4E3F), which keeps the CI run short; writes under
`crates/m2v-distill/tests/fixtures/embeddinggemma/`: `expected.json` (the pattern, the
token list in id order, the saved `config.json`, the indices of the sampled rows) and
`rows.bin` (every 4th embedding row as saved, float16 little-endian).

`slice-mpnet`: the same for the real all-mpnet-base-v2 (an MPNet teacher, WordPiece),
keeping the ~1,900 tokens that start with `b` (`MPNET_SLICE`), `pca_dims=256`, into
`crates/m2v-distill/tests/fixtures/mpnet-slice/`.

`full`: the whole 262k-token vocabulary, `pca_dims=256`, saved with `save_pretrained`
into OUT_DIR; prints the wall time and the peak resident memory (for the closing note
and `docs/`; `scripts/time_embeddinggemma.sh` runs it beside `m2v-cli distill`).

`compare`: two saved folders (ours, Python's): the same token list and the worst row
cosine (requires >= 0.999).
"""

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "embeddinggemma"

# Python `re.match` semantics (m2v anchors it the same way); no look-around, so the
# Rust `regex` crate reads it identically.
SLICE = (
    r"[^▁一-丿]|[一-丿].|▁[^bкक]|▁b[^ae]|▁.{0,2}$"
    r"|▁.*[^a-zа-яक-ह\u0900-\u097f]"
)


# Every token but those starting with `b` or `##b`.
MPNET_SLICE = r"[^b#]|#[^#]|##[^b]"


def snapshot(repo: str = "google/embeddinggemma-300m") -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo)


def tokens_of(folder: Path) -> list[str]:
    tok = json.loads((folder / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    if isinstance(vocab, dict):
        return [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    return [t for t, _ in vocab]


def rows_of(folder: Path) -> np.ndarray:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))["embeddings"]


def slice_(repo: str = "google/embeddinggemma-300m", pattern: str = SLICE, out: Path = OUT) -> None:
    import tempfile

    from model2vec.distill import distill

    m = distill(model_name=snapshot(repo), pca_dims=256, token_remove_pattern=pattern)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m.save_pretrained(tmp)
        tokens = tokens_of(tmp)
        rows = rows_of(tmp)
        config = json.loads((tmp / "config.json").read_text())
    config["tokenizer_name"] = "<teacher>"
    sample = list(range(0, rows.shape[0], 4))
    out.mkdir(parents=True, exist_ok=True)
    (out / "expected.json").write_text(
        json.dumps(
            {
                "pattern": pattern,
                "tokens": tokens,
                "config": config,
                "dtype": str(rows.dtype),
                "shape": list(rows.shape),
                "sampled_rows": sample,
            },
            ensure_ascii=False,
            indent=0,
        )
    )
    rows[sample].astype("<f2").tofile(out / "rows.bin")
    print("slice:", rows.shape, rows.dtype, "->", out)


def full(out: str) -> None:
    from model2vec.distill import distill

    t = time.perf_counter()
    m = distill(model_name=snapshot(), pca_dims=256)
    m.save_pretrained(out)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python model2vec 0.10.0 full distill: {wall:.1f} s, peak RSS {peak:.0f} MiB")


def compare(ours: str, theirs: str) -> None:
    a, b = Path(ours), Path(theirs)
    ta, tb = tokens_of(a), tokens_of(b)
    assert ta == tb, f"token lists differ: {len(ta)} vs {len(tb)}"
    ra = rows_of(a).astype(np.float64)
    rb = rows_of(b).astype(np.float64)
    assert ra.shape == rb.shape, (ra.shape, rb.shape)
    na = np.linalg.norm(ra, axis=1)
    nb = np.linalg.norm(rb, axis=1)
    ok = (na > 0) & (nb > 0)
    cos = (ra * rb).sum(axis=1)[ok] / (na[ok] * nb[ok])
    print(
        f"{len(ta)} tokens identical; row cosine: worst {cos.min():.6f}, "
        f"mean {cos.mean():.6f}, rows < 0.999: {(cos < 0.999).sum()}"
    )
    assert cos.min() >= 0.999


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "slice":
        slice_()
    elif cmd == "slice-mpnet":
        slice_(
            "sentence-transformers/all-mpnet-base-v2",
            MPNET_SLICE,
            OUT.parent / "mpnet-slice",
        )
    elif cmd == "full":
        full(sys.argv[2])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
