#!/usr/bin/env python3
"""Golden outputs of Python model2vec 0.10.0 inference for m2v-static's parity tests.

Run with the project venv, offline:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_static.py

Writes crates/m2v-static/tests/fixtures/:
  texts.json            the edge-case texts and the rule that selects the real sentences
                        (the sentences themselves are read from ../shared/data at test time)
  golden.json           per case: model, options, shape, output file, tolerance notes
  ids/<case>.json       token ids that encode averages (after char pre-truncation,
                        truncation and unk removal), one list per text
  out/<case>.f32        encode() output, little-endian f32, row-major [texts, dim]
  tiny/<name>/          tiny models written by model2vec itself (and by
                        sentence-transformers for the ST layouts), each with a
                        600-token WordPiece tokenizer.json cut from potion's

The tiny models use a small vocabulary so that they can be committed (a few KB each).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import model2vec  # noqa: E402
from model2vec import StaticModel  # noqa: E402
from model2vec.model import quantize_model  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

assert model2vec.__version__ == "0.10.0", model2vec.__version__

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "crates" / "m2v-static" / "tests" / "fixtures"
SHARED = Path(os.environ.get("M2V_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not (SHARED / "README.md").exists():
    SHARED = Path("/work/shared/data")
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def snapshot(repo: str) -> Path:
    base = HUB / ("models--" + repo.replace("/", "--"))
    rev = (base / "refs" / "main").read_text().strip()
    return base / "snapshots" / rev


# --- texts -------------------------------------------------------------------------

N_REAL = 200
REAL_RULE = (
    "stsbenchmark/sts-test.csv: split each line on tabs, keep lines with at least 7 "
    "fields, and from every 7th kept line (index 0, 7, 14, ...) take fields 5 and 6, "
    f"until {N_REAL} texts"
)


def real_texts() -> list[str]:
    out: list[str] = []
    lines = (SHARED / "stsbenchmark" / "sts-test.csv").read_text(encoding="utf-8").split("\n")
    kept = [ln.split("\t") for ln in lines if len(ln.split("\t")) >= 7]
    for i in range(0, len(kept), 7):
        out.extend([kept[i][5], kept[i][6]])
        if len(out) >= N_REAL:
            break
    return out[:N_REAL]


EDGE = [
    "",
    " ",
    "   \t  ",
    "\n",
    "hello",
    "Hello, World!!! (test) [x] {y} <z>",
    "HeLLo WoRLD, ThIs Is MiXeD cAsE.",
    "a   b\t\tc  d",
    "3.14159 and 1,000,000 and 42nd",
    "☃☃☃ ⛄",
    "😀🎉👍🏽",
    "\u0000\u0001\u0002",
    "\u200b\u200b",
    "café naïve façade résumé Ångström",
    "e\u0301 combining acute",
    "Straße groß Maß",
    "我爱自然语言处理。",
    "日本語のテキストです",
    "한국어 문장입니다",
    "Привет, как дела?",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Καλημέρα κόσμε",
    "[CLS] hello [SEP] [MASK] world [PAD]",
    "x" * 150,
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "the " * 700,
    ("Natural language processing is fun. " * 120).strip(),
    "a" * 5000,
    "word\u00a0with\u00a0nbsp",
]


# --- tiny tokenizer ---------------------------------------------------------------


def tiny_tokenizer(potion: Path, texts: list[str]) -> Tokenizer:
    """potion's WordPiece pipeline with a 600-token vocabulary: the 5 specials, then the
    tokens potion uses most on `texts`, then single ASCII letters (as found in potion)."""
    full = Tokenizer.from_file(str(potion / "tokenizer.json"))
    counts: Counter[int] = Counter()
    for enc in full.encode_batch(texts, add_special_tokens=False):
        counts.update(enc.ids)
    vocab = full.get_vocab()
    inv = {i: t for t, i in vocab.items()}
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = list(specials)
    seen = set(tokens)
    for t in [c for c in "abcdefghijklmnopqrstuvwxyz"] + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]:
        if t in vocab and t not in seen:
            tokens.append(t)
            seen.add(t)
    for i, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        t = inv[i]
        if t not in seen:
            tokens.append(t)
            seen.add(t)
        if len(tokens) >= 600:
            break
    js = json.loads((potion / "tokenizer.json").read_text())
    js["model"]["vocab"] = {t: i for i, t in enumerate(tokens)}
    js["added_tokens"] = [dict(a, id=tokens.index(a["content"])) for a in js["added_tokens"]]
    js["post_processor"] = None
    return Tokenizer.from_str(json.dumps(js))


# --- golden cases -------------------------------------------------------------------


def write_f32(name: str, arr: np.ndarray) -> str:
    rel = f"out/{name}.f32"
    (FIX / rel).write_bytes(np.ascontiguousarray(arr, dtype="<f4").tobytes())
    return rel


def ids_encode_averages(model: StaticModel, texts: list[str], max_length: int | None) -> list[list[int]]:
    """Exactly the ids `encode` pools: the char pre-truncation of `_encode_dispatch`,
    the tokenizer truncation it sets, and `tokenize`'s unk removal."""
    if max_length is not None:
        m = max_length * model.median_token_length
        texts = [t[:m] for t in texts]
    model._set_max_length_in_tokenizer(max_length)
    try:
        return model.tokenize(texts)
    finally:
        model._set_max_length_in_tokenizer(model.max_length)


def main() -> None:
    texts = real_texts() + EDGE
    potion = snapshot("minishlab/potion-base-8M")
    tokenlearn = snapshot("pypi/tokenlearn-static-model")

    if FIX.exists():
        for sub in ["out", "ids", "tiny"]:
            shutil.rmtree(FIX / sub, ignore_errors=True)
    for sub in ["out", "ids", "tiny"]:
        (FIX / sub).mkdir(parents=True, exist_ok=True)

    (FIX / "texts.json").write_text(
        json.dumps(
            {
                "real_rule": REAL_RULE,
                "real_count": N_REAL,
                "edge": EDGE,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )

    cases = []

    def case(name: str, model_ref: str, model: StaticModel, tol: float, why: str, subset=None, **enc) -> None:
        idx = list(range(len(texts))) if subset is None else subset
        sel = [texts[i] for i in idx]
        out = model.encode(sel, use_multiprocessing=False, **enc)
        ml = enc.get("max_length", model.max_length)
        ids = ids_encode_averages(model, sel, ml)
        (FIX / "ids" / f"{name}.json").write_text(json.dumps(ids, separators=(",", ":")) + "\n")
        cases.append(
            {
                "name": name,
                "model": model_ref,
                "encode": {k: v for k, v in enc.items()},
                "text_indices": idx,
                "python_dtype": str(out.dtype),
                "shape": list(out.shape),
                "output": write_f32(name, out.astype(np.float32)),
                "ids": f"ids/{name}.json",
                "median_token_length": model.median_token_length,
                "normalize": bool(enc.get("normalize", model.normalize)),
                "max_length": ml,
                "tolerance": tol,
                "tolerance_why": why,
            }
        )

    exact = "f32 model: same summation order as numpy, max abs diff <= 1e-6"
    m = StaticModel.from_pretrained(str(potion))
    case("potion", "hub:minishlab/potion-base-8M", m, 1e-6, exact)
    case(
        "potion_len8_nonorm",
        "hub:minishlab/potion-base-8M",
        m,
        1e-6,
        exact,
        subset=list(range(20)) + list(range(N_REAL, len(texts))),
        max_length=8,
        normalize=False,
    )
    m = StaticModel.from_pretrained(str(tokenlearn))
    case(
        "tokenlearn",
        "hub:pypi/tokenlearn-static-model",
        m,
        1e-6,
        "int8 rows times f32 weights summed in f32 in numpy's order: max abs diff <= 1e-6",
    )

    # Tiny models, written by model2vec's own save_pretrained.
    tok = tiny_tokenizer(potion, real_texts())
    vocab_n = tok.get_vocab_size()
    rng = np.random.default_rng(20261127)
    base = rng.standard_normal((vocab_n, 8)).astype(np.float32)
    tmp = Path(tempfile.mkdtemp())
    tiny_defs = []

    def tiny(name, vectors, normalize, tol, why, weights=None, mapping=None, max_length=512, **enc):
        m = StaticModel(
            vectors=vectors,
            tokenizer=tok,
            config={"model_type": "model2vec", "architectures": ["StaticModel"], "hidden_dim": vectors.shape[1]},
            normalize=normalize,
            weights=weights,
            token_mapping=mapping,
            max_length=max_length,
        )
        d = tmp / name
        m.save_pretrained(d)
        m = StaticModel.from_pretrained(str(d))
        tiny_defs.append((name, d))
        case(name, f"tiny:{name}", m, tol, why, **enc)
        return m

    f16_why = (
        "python returns f16-rounded values (and normalizes f16-rounded means); m2v returns f32: "
        "abs diff <= 1e-3 * max(1, |python value|)"
    )
    tiny("tiny_f32", base, False, 1e-6, exact)
    tiny("tiny_f32_norm_len4", base, True, 1e-6, exact, max_length=4)
    tiny("tiny_f16_norm", base.astype(np.float16), True, 1e-3, f16_why)
    tiny("tiny_f64", base.astype(np.float64), False, 1e-6, "f64 model: python returns f64, m2v f32: max abs diff <= 1e-6")
    mi8 = quantize_model(StaticModel(vectors=base, tokenizer=tok, normalize=True), quantize_to="int8")
    tiny("tiny_i8_norm", mi8.embedding, True, 1e-6, "int8 rows, mean in f64 as numpy does: max abs diff <= 1e-6")
    tiny(
        "tiny_f16_weights64",
        base.astype(np.float16),
        False,
        1e-3,
        "f16 rows times f64 weights: python returns the f64 mean rounded to f16, m2v the f32 mean: "
        "abs diff <= 1e-3 * max(1, |python value|)",
        weights=rng.uniform(0.1, 2.0, vocab_n).astype(np.float64),
    )
    centres = rng.standard_normal((40, 8)).astype(np.float32)
    q = quantize_model(StaticModel(vectors=centres, tokenizer=tok, normalize=True, token_mapping=np.zeros(vocab_n, dtype=np.int32)), quantize_to="int8")
    tiny(
        "tiny_i8_vq",
        q.embedding,
        True,
        1e-6,
        "vocabulary-quantized: int8 rows via an i32 mapping times f32 weights: max abs diff <= 1e-6",
        weights=rng.uniform(0.1, 2.0, vocab_n).astype(np.float32),
        mapping=rng.integers(0, 40, vocab_n).astype(np.int32),
    )

    # sentence-transformers root layout: config_sentence_transformers.json, tensor
    # `embedding.weight` (no config.json: normalize falls back to false, max_length to 512).
    st = tmp / "tiny_st"
    st.mkdir()
    save_file({"embedding.weight": base}, str(st / "model.safetensors"))
    tok.save(str(st / "tokenizer.json"), pretty=False)
    (st / "config_sentence_transformers.json").write_text(json.dumps({"__version__": {"sentence_transformers": "3.0.0"}}))
    tiny_defs.append(("tiny_st", st))
    case("tiny_st", "tiny:tiny_st", StaticModel.from_pretrained(str(st)), 1e-6, exact)

    # 0_StaticEmbedding layout, written by sentence-transformers itself.
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import StaticEmbedding

    # sentence-transformers 6 saves module 0 at the root; older versions (and many hub
    # models) have it under 0_StaticEmbedding/, the layout model2vec tries last.
    se = tmp / "tiny_0static"
    emb = StaticEmbedding(tok, embedding_weights=base.astype(np.float32))
    SentenceTransformer(modules=[emb], device="cpu").save(str(se))
    (se / "0_StaticEmbedding").mkdir()
    for f in ["model.safetensors", "tokenizer.json"]:
        (se / f).rename(se / "0_StaticEmbedding" / f)
    tiny_defs.append(("tiny_0static", se))
    case("tiny_0static", "tiny:tiny_0static", StaticModel.from_pretrained(str(se)), 1e-6, exact)

    # Copy the tiny models into fixtures/tiny/<name>/ (each a few KB).
    manifest = {}
    for name, d in tiny_defs:
        files = []
        for p in sorted(d.rglob("*")):
            rel = p.relative_to(d).as_posix()
            if p.is_dir() or p.name == "README.md":
                continue
            if p.stat().st_size > 64_000:
                sys.exit(f"{p} too big for a fixture")
            dst = FIX / "tiny" / name / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, dst)
            files.append(rel)
        manifest[name] = files
    shutil.rmtree(tmp)

    # encode_as_sequence on a few texts (rows weighted, not averaged; no truncation).
    seq_texts = [texts[0], "", "hello world", "☃"]
    seqs = {}
    for name in ["tiny_f32", "tiny_i8_vq"]:
        mm = StaticModel.from_pretrained(str(FIX / "tiny" / name))
        seqs[name] = [
            np.asarray(s, dtype=np.float64).tolist()
            for s in mm.encode_as_sequence(seq_texts, use_multiprocessing=False)
        ]

    (FIX / "golden.json").write_text(
        json.dumps(
            {
                "generator": "scripts/golden_static.py",
                "model2vec": model2vec.__version__,
                "numpy": np.__version__,
                "texts": len(texts),
                "cases": cases,
                "tiny_models": manifest,
                "sequence": {"texts": seq_texts, "rows": seqs},
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    total = sum(p.stat().st_size for p in FIX.rglob("*") if p.is_file())
    print(f"wrote {len(cases)} cases, {total / 1024:.0f} KiB under {FIX}")


if __name__ == "__main__":
    main()
