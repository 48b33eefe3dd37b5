#!/usr/bin/env python3
"""Python model2vec 0.10.0 distillations of the tiny teacher checkpoints of other families.

Run with the project venv (`pip install "model2vec[distill]==0.10.0"
sentence-transformers`), offline, after `cargo xtask fetch` and
`scripts/golden_teacher_families.py`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_families.py

The tiny checkpoints (`crates/m2v-teacher/tests/fixtures/families/<name>/`) have a
1000-token vocabulary. For the families whose tokenizer m2v can load (DistilBERT: BERT's
WordPiece), this writes a matching 1000-token `tokenizer.json` cut from
all-MiniLM-L6-v2's (ids 0-103 as in BERT: [PAD], [unused0-98], [UNK], [CLS], [SEP],
[MASK]; ids 104-999: 500 characters and word pieces from ids 999 on, then 396 words
from id 1996 on) with `special_tokens_map.json` and `tokenizer_config.json`, runs
`model2vec.distill.distill(model_name=<folder>, pca_dims=16)` on the checkpoint plus that
tokenizer, and writes under `crates/m2v-distill/tests/fixtures/families/<name>/`:

- the tokenizer files (the test assembles the teacher folder from them and the
  checkpoint in m2v-teacher's fixtures);
- `expected.json`: the saved `config.json`, the token list in id order, the dtype and
  shape; `rows.bin`: every embedding row as saved (float16, little-endian).
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from huggingface_hub import snapshot_download
from model2vec.distill import distill
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
TEACHERS = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "families"
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "families"


def bert_tokenizer_1000() -> dict:
    src = Path(snapshot_download("sentence-transformers/all-MiniLM-L6-v2")) / "tokenizer.json"
    tok = json.loads(src.read_text())
    by_id = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in by_id]
    new = tokens[:104] + tokens[999 : 999 + 500] + tokens[1996 : 1996 + 396]
    assert len(new) == 1000 and len(set(new)) == 1000
    tok["model"]["vocab"] = {t: i for i, t in enumerate(new)}
    tok["truncation"] = None
    tok["padding"] = None
    return tok


def main() -> None:
    name = "distilbert"
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    tok = bert_tokenizer_1000()
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    specials = {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (out / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "DistilBertTokenizer", "do_lower_case": True, **specials}, indent=2)
    )
    with tempfile.TemporaryDirectory() as tmp:
        teacher = Path(tmp) / "teacher"
        teacher.mkdir()
        for f in ["config.json", "model.safetensors"]:
            shutil.copy(TEACHERS / name / f, teacher / f)
        for f in ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]:
            shutil.copy(out / f, teacher / f)
        model = distill(model_name=str(teacher), pca_dims=16, device="cpu")
        saved = Path(tmp) / "model"
        model.save_pretrained(str(saved))
        emb = load_file(str(saved / "model.safetensors"))["embeddings"]
        config = json.loads((saved / "config.json").read_text())
        saved_tok = json.loads((saved / "tokenizer.json").read_text())
    vocab = sorted(saved_tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    config["tokenizer_name"] = "<teacher>"
    (out / "rows.bin").write_bytes(np.ascontiguousarray(emb).astype("<f2").tobytes())
    (out / "expected.json").write_text(
        json.dumps(
            {
                "generator": "scripts/golden_distill_families.py (model2vec 0.10.0)",
                "options": {"pca_dims": 16},
                "config": config,
                "tokens": [t for t, _ in vocab],
                "dtype": str(emb.dtype),
                "shape": list(emb.shape),
                "tolerance": {"min_row_cosine": 0.999},
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(name, emb.shape, emb.dtype)


if __name__ == "__main__":
    main()
