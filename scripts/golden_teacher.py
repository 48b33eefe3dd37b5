#!/usr/bin/env python3
"""Golden values for `m2v-teacher` from PyTorch `transformers` / `sentence-transformers`.

Run with the project venv, offline, after `cargo xtask fetch`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_teacher.py

For each teacher (all-MiniLM-L6-v2, all-mpnet-base-v2) it writes, under
`crates/m2v-teacher/tests/fixtures/<name>/`:

- `hidden.json` + `hidden.bin`: `last_hidden_state` (fp32, little-endian, rows of
  `hidden_size`) of `transformers.AutoModel` for a set of token-id sequences, each run
  alone (batch of one, no padding): `[CLS] tok [SEP]` triples as distillation feeds them
  and a few tokenized sentences; plus the `pooler_output` of each sequence.
- `sentences.json` + `sentences.bin`: `SentenceTransformer.encode` embeddings
  (normalized, as the model's modules.json says) of real sentences from the STS-B test
  set (plus one long text that exercises truncation to `max_seq_length`), with the token
  ids sentence-transformers fed the model, so the Rust side can test pooling without
  its own tokenizer.

The fixtures stay small (< 500 KB in all): fewer sentences are stored for the 768-d
teacher.
"""

import json
import os
import struct
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures"
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
STS = Path(os.environ.get("M2V_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not (STS / "README.md").is_file():
    STS = Path("/work/shared/data")

MODELS = [
    # (fixture name, hub id, sentences stored, tokenized sentences among the hidden-state
    # sequences); the 768-d teacher gets fewer triples too (see `triples`).
    ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", 100, 2),
    ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2", 24, 1),
]

# Words whose `[CLS] tok [SEP]` triples are checked (as the distillation feeds them).
TRIPLE_TOKENS = ["the", "hello", "##ing", "1997", ".", "zebra"]

# The second sentence has a word split into pieces and punctuation.
HIDDEN_SENTENCES = [
    "A girl is styling her hair, unbelievably quickly!",
    "The quick brown fox jumps over the lazy dog.",
]


def snapshot(hub_id: str) -> Path:
    repo = HUB / ("models--" + hub_id.replace("/", "--"))
    rev = (repo / "refs" / "main").read_text().strip()
    return repo / "snapshots" / rev


def sts_sentences() -> list[str]:
    out = []
    for line in (STS / "stsbenchmark" / "sts-test.csv").read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) >= 7:
            out.append(cols[5])
        if len(out) == 99:
            break
    # One text longer than any max_seq_length, so truncation is exercised.
    long = " ".join(["The committee reviewed the extraordinarily long proposal again."] * 60)
    return [long] + out


def write_f32(path: Path, rows: np.ndarray) -> None:
    rows = np.ascontiguousarray(rows, dtype="<f4")
    path.write_bytes(rows.tobytes())


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    sentences = sts_sentences()
    for name, hub_id, n_sent, n_hidden_sent in MODELS:
        path = snapshot(hub_id)
        out = OUT / name
        out.mkdir(parents=True, exist_ok=True)
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path), torch_dtype=torch.float32).eval()
        bos, eos = tok.cls_token_id, tok.sep_token_id

        seqs = []
        triples = TRIPLE_TOKENS if n_hidden_sent > 1 else TRIPLE_TOKENS[1:5]
        for t in triples:
            tid = tok.convert_tokens_to_ids(t)
            assert tid != tok.unk_token_id, (name, t)
            seqs.append({"name": f"triple:{t}", "ids": [bos, tid, eos]})
        seqs.append({"name": "triple:[UNK]", "ids": [bos, tok.unk_token_id, eos]})
        seqs.append({"name": "triple:last-id", "ids": [bos, len(tok) - 1, eos]})
        for s in HIDDEN_SENTENCES[:n_hidden_sent]:
            seqs.append({"name": f"sentence:{s}", "ids": tok(s)["input_ids"]})

        rows, pooled = [], []
        with torch.no_grad():
            for s in seqs:
                ids = torch.tensor([s["ids"]], dtype=torch.long)
                o = model(input_ids=ids, attention_mask=torch.ones_like(ids))
                rows.append(o.last_hidden_state[0].numpy())
                pooled.append(o.pooler_output[0].numpy())
        hidden = np.concatenate(rows, axis=0)
        write_f32(out / "hidden.bin", hidden)
        write_f32(out / "pooler.bin", np.stack(pooled))
        meta = {
            "hub_id": hub_id,
            "hidden_size": int(hidden.shape[1]),
            "pad_token_id": int(tok.pad_token_id),
            "sequences": seqs,
            "files": {
                "hidden.bin": "last_hidden_state rows of every sequence, in order",
                "pooler.bin": "pooler_output, one row per sequence",
            },
        }
        (out / "hidden.json").write_text(json.dumps(meta, indent=1) + "\n")

        st = SentenceTransformer(str(path), device="cpu")
        texts = sentences[:n_sent]
        emb = st.encode(texts, batch_size=16, convert_to_numpy=True)
        feats = st.tokenize(texts)
        ids = []
        for i in range(len(texts)):
            m = feats["attention_mask"][i].bool()
            ids.append(feats["input_ids"][i][m].tolist())
        write_f32(out / "sentences.bin", emb)
        smeta = {
            "hub_id": hub_id,
            "dim": int(emb.shape[1]),
            "max_seq_length": st.max_seq_length,
            "texts": texts,
            "ids": ids,
            "files": {"sentences.bin": "SentenceTransformer.encode rows, in order"},
        }
        (out / "sentences.json").write_text(json.dumps(smeta) + "\n")
        print(name, hidden.shape, emb.shape, [len(i) for i in ids[:3]])


if __name__ == "__main__":
    main()
