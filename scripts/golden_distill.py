#!/usr/bin/env python3
"""Golden values for `m2v-cli distill` from Python `model2vec==0.10.0`, and a round trip check.

Run with the project venv, offline, after `cargo xtask fetch`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill.py generate
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill.py roundtrip OUR_MODEL_DIR [--m2v-cli BIN]

`generate` runs `model2vec.distill.distill(model_name=<local snapshot of
sentence-transformers/all-MiniLM-L6-v2>, ...)` for these variants and saves each with
`save_pretrained` into a temporary folder:

- `default`:     pca_dims=256 (float16, the defaults otherwise)
- `vocab`:       pca_dims=256 plus a custom vocabulary: the 5000 most frequent words of
                 wordfreq's `small_en` (read with the tiny msgpack decoder below), which
                 includes words the BERT pre-tokenizer splits ("don't", "u.s")
- `pca_float`:   pca_dims=0.9
- `pca_auto`:    pca_dims="auto"
- `pca_none`:    pca_dims=None
- `float32`:     pca_dims=256, quantize_to="float32"

The teacher forward pass is identical for every variant without a custom vocabulary, so
it is run once and reused (`create_embeddings` is memoised on its exact inputs); every
other step is the package's own code. From each saved folder it writes COMPACT fixtures
under `crates/m2v-distill/tests/fixtures/distill/<variant>/`:

- `expected.json`: the parameters, `config.json`, `modules.json`, the vocabulary size,
  a sha256 of the token list (tokens in id order, UTF-8, each followed by a 0 byte), the
  tokens of the sampled rows, every token past the teacher's own vocabulary (the custom
  ones), the tokenizer.json without `model.vocab` (everything else, verbatim), the sha256
  of the whole tokenizer.json file, the safetensors header, the PCA's explained variance
  (captured from the package's `_pca_fit_transform`), and the sampled row indices.
- `rows.bin`: those embedding rows exactly as stored (float16 or float32, little-endian,
  row-major).

`roundtrip` loads a folder written by `m2v-cli distill` with Python model2vec and
sentence-transformers, encodes sentences, and checks that both agree with each other and
(when `--m2v-cli` is given and has an `encode` subcommand) with m2v-static.
"""

import argparse
import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "distill"
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
WORDFREQ = Path.home() / ".cache" / "m2v" / "data" / "wordfreq" / "small_en.msgpack.gz"
TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
N_VOCAB_WORDS = 5000

VARIANTS = [
    # (name, distill kwargs, uses the custom vocabulary)
    ("default", {"pca_dims": 256}, False),
    ("vocab", {"pca_dims": 256}, True),
    ("pca_float", {"pca_dims": 0.9}, False),
    ("pca_auto", {"pca_dims": "auto"}, False),
    ("pca_none", {"pca_dims": None}, False),
    ("float32", {"pca_dims": 256, "quantize_to": "float32"}, False),
]

SENTENCES = [
    "A girl is styling her hair.",
    "The quick brown fox jumps over the lazy dog!",
    "Don't panic: it's only a test, isn't it?",
    "U.S. stocks rose 3.5% on Tuesday.",
    "naïve café façade — über straße",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]


def snapshot(hub_id: str) -> Path:
    repo = HUB / ("models--" + hub_id.replace("/", "--"))
    ref = (repo / "refs" / "main").read_text().strip()
    return repo / "snapshots" / ref


def msgpack_unpack(b: bytes):
    """A tiny msgpack decoder: enough for wordfreq's files (no msgpack package here)."""
    pos = 0

    def string(n: int) -> str:
        nonlocal pos
        v = b[pos : pos + n].decode("utf-8")
        pos += n
        return v

    def read():
        nonlocal pos
        t = b[pos]
        pos += 1
        if t <= 0x7F:
            return t
        if t >= 0xE0:
            return t - 256
        if 0x80 <= t <= 0x8F:
            return {read(): read() for _ in range(t & 0x0F)}
        if 0x90 <= t <= 0x9F:
            return [read() for _ in range(t & 0x0F)]
        if 0xA0 <= t <= 0xBF:
            return string(t & 0x1F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if t in simple:
            return simple[t]
        sizes = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
        if t in sizes:
            (n,) = struct.unpack_from(sizes[t], b, pos)
            pos += struct.calcsize(sizes[t])
            return string(n)
        arrays = {0xDC: ">H", 0xDD: ">I"}
        if t in arrays:
            (n,) = struct.unpack_from(arrays[t], b, pos)
            pos += struct.calcsize(arrays[t])
            return [read() for _ in range(n)]
        if t == 0xDE:
            (n,) = struct.unpack_from(">H", b, pos)
            pos += 2
            return {read(): read() for _ in range(n)}
        nums = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
                0xCA: ">f", 0xCB: ">d"}
        if t in nums:
            (v,) = struct.unpack_from(nums[t], b, pos)
            pos += struct.calcsize(nums[t])
            return v
        raise ValueError(f"unsupported msgpack type byte {t:#x} at {pos - 1}")

    return read()


def wordfreq_words(n: int) -> list[str]:
    """The `n` most frequent words of wordfreq's small_en list (buckets in rank order)."""
    data = msgpack_unpack(gzip.open(WORDFREQ).read())
    words = [w for bucket in data[1:] for w in bucket]
    return words[:n]


def tokens_sha256(tokens: list[str]) -> str:
    h = hashlib.sha256()
    for t in tokens:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def safetensors_header(path: Path) -> dict:
    raw = path.read_bytes()
    (n,) = struct.unpack_from("<Q", raw, 0)
    return {"length": n, "json": raw[8 : 8 + n].decode("utf-8")}


def sample_rows(n_rows: int, extra: list[int]) -> list[int]:
    rows = set(range(min(32, n_rows)))
    rows.update(range(max(0, n_rows - 32), n_rows))
    rng = np.random.default_rng(0)
    rows.update(int(i) for i in rng.choice(n_rows, size=min(32, n_rows), replace=False))
    rows.update(i for i in extra if 0 <= i < n_rows)
    return sorted(rows)


def generate() -> None:
    import model2vec
    import model2vec.distill.distillation as distillation
    import model2vec.distill.inference as inference
    from model2vec.distill import distill

    assert model2vec.__version__ == "0.10.0", model2vec.__version__
    teacher = snapshot(TEACHER)
    base_vocab = json.loads((teacher / "tokenizer.json").read_text())["model"]["vocab"]

    # Memoise the teacher forward pass on its exact inputs.
    cache: dict = {}
    real_create = distillation.create_embeddings

    def create_embeddings(*, tokenized, model, device, pad_token_id, pooling):
        key = (tuple(tuple(x) for x in tokenized), pad_token_id, str(pooling))
        if key not in cache:
            cache[key] = real_create(
                tokenized=tokenized, model=model, device=device, pad_token_id=pad_token_id, pooling=pooling
            )
        return cache[key].copy()

    distillation.create_embeddings = create_embeddings

    # Capture the explained variance of the package's own PCA.
    captured: dict = {}
    real_pca = inference._pca_fit_transform

    def pca_fit_transform(X, n_components):
        scores, ev, evr = real_pca(X, n_components)
        captured["explained_variance"] = float(np.sum(ev))
        captured["explained_variance_ratio"] = float(np.sum(evr))
        captured["k"] = int(scores.shape[1])
        return scores, ev, evr

    inference._pca_fit_transform = pca_fit_transform

    words = wordfreq_words(N_VOCAB_WORDS)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vocabulary.txt").write_text("".join(w + "\n" for w in words), encoding="utf-8")

    for name, kwargs, with_vocab in VARIANTS:
        captured.clear()
        vocabulary = words if with_vocab else None
        model = distill(model_name=str(teacher), vocabulary=vocabulary, device="cpu", **kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            model.save_pretrained(folder)
            tok_bytes = (folder / "tokenizer.json").read_bytes()
            tok = json.loads(tok_bytes)
            vocab = tok["model"]["vocab"]
            tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
            assert [vocab[t] for t in tokens] == list(range(len(tokens)))
            rest = dict(tok)
            rest["model"] = {k: v for k, v in tok["model"].items() if k != "vocab"}
            new_tokens = [(i, t) for i, t in enumerate(tokens) if t not in base_vocab]
            added = [a["content"] for a in tok["added_tokens"]]
            extra = [i for i, _ in new_tokens[:40]] + [i for i, _ in new_tokens[-40:]]
            extra += [tokens.index(a) for a in added if a in vocab]
            from safetensors.numpy import load_file

            tensors = load_file(str(folder / "model.safetensors"))
            emb = tensors["embeddings"]
            rows = sample_rows(emb.shape[0], extra)
            d = OUT / name
            d.mkdir(parents=True, exist_ok=True)
            (d / "rows.bin").write_bytes(np.ascontiguousarray(emb[rows]).astype(emb.dtype.newbyteorder("<")).tobytes())
            expected = {
                "model2vec_version": model2vec.__version__,
                "teacher": TEACHER,
                "params": {k: v for k, v in kwargs.items()},
                "custom_vocabulary": "vocabulary.txt" if with_vocab else None,
                "config": json.loads((folder / "config.json").read_text()),
                "config_text": (folder / "config.json").read_text(),
                "modules_text": (folder / "modules.json").read_text(),
                "readme_front_matter": (folder / "README.md").read_text().split("---")[1],
                "vocab_size": len(tokens),
                "tokens_sha256": tokens_sha256(tokens),
                "new_tokens": new_tokens,
                "added_tokens": added,
                "tokenizer_without_vocab": rest,
                "tokenizer_json_sha256": hashlib.sha256(tok_bytes).hexdigest(),
                "tokenizer_json_len": len(tok_bytes),
                "safetensors_header": safetensors_header(folder / "model.safetensors"),
                "dtype": str(emb.dtype),
                "shape": list(emb.shape),
                "explained_variance": captured.get("explained_variance"),
                "explained_variance_ratio": captured.get("explained_variance_ratio"),
                "pca_k": captured.get("k"),
                "rows": rows,
                "row_tokens": [tokens[i] for i in rows],
            }
            (d / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
            print(f"{name}: vocab {len(tokens)}, shape {list(emb.shape)}, new tokens {len(new_tokens)}, "
                  f"added {len(added)}, explained variance ratio {captured.get('explained_variance_ratio')}")


def roundtrip(model_dir: Path, m2v_cli: str | None) -> int:
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer

    m = StaticModel.from_pretrained(str(model_dir))
    a = m.encode(SENTENCES).astype(np.float32)
    st = SentenceTransformer(str(model_dir), device="cpu")
    b = st.encode(SENTENCES, convert_to_numpy=True).astype(np.float32)
    ok = True
    diff = float(np.max(np.abs(a - b)))
    print(f"model2vec vs sentence-transformers: max |diff| {diff:.2e} over {len(SENTENCES)} sentences")
    ok &= diff < 1e-3
    if m2v_cli:
        help_text = subprocess.run([m2v_cli, "--help"], capture_output=True, text=True).stdout
        if "encode" not in help_text:
            print("m2v-cli has no `encode` subcommand: m2v-static comparison skipped")
        else:
            out = subprocess.run(
                [m2v_cli, "encode", "--model", str(model_dir), "--input", "-", "--output", "-", "--format", "jsonl",
                 "--quiet"],
                input="".join(s + "\n" for s in SENTENCES), capture_output=True, text=True,
            )
            if out.returncode != 0:
                print("m2v-cli encode failed:", out.stderr.strip())
                ok = False
            else:
                c = np.asarray([json.loads(line) for line in out.stdout.splitlines() if line.strip()], dtype=np.float32)
                d = float(np.max(np.abs(a - c)))
                print(f"model2vec vs m2v-static (m2v-cli encode): max |diff| {d:.2e}")
                ok &= d < 1e-3
    print("round trip OK" if ok else "round trip FAILED")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("generate")
    r = sub.add_parser("roundtrip")
    r.add_argument("model_dir", type=Path)
    r.add_argument("--m2v-cli", default=None)
    a = p.parse_args()
    if a.cmd == "generate":
        generate()
        return 0
    return roundtrip(a.model_dir, a.m2v_cli)


if __name__ == "__main__":
    sys.exit(main())
