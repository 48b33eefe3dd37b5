#!/usr/bin/env python3
"""A sentence-transformers pipeline with modules after the pooling, and its goldens.

Run with the project venv, offline, after `scripts/golden_distill_families.py` (whose
1000-token BERT tokenizer this reuses):

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_teacher_pipeline.py

Builds, with `torch.manual_seed`, a tiny BERT (vocabulary 1000, hidden 32, 2 layers)
and the sentence-transformers pipeline LaBSE and EmbeddingGemma have the shape of:
Transformer -> mean Pooling -> Dense(32->16, Tanh, bias) -> Dense(16->24, Identity, no
bias, use_residual: a residual projection) -> Normalize, with prompts in
`config_sentence_transformers.json`. Saves it with `SentenceTransformer.save` under
`crates/m2v-teacher/tests/fixtures/pipeline/model/` and writes `expected.json`: the
texts and `model.encode(texts)` with no prompt and with `prompt_name="query"`.
"""

import json
import shutil
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer, models
from transformers import BertConfig, BertModel

ROOT = Path(__file__).resolve().parent.parent
TOK = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "families" / "distilbert"
OUT = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "pipeline"

TEXTS = [
    "the cat sat on the mat",
    "a longer sentence about the state of the world and what people do in it",
    "x",
    "Numbers 12 and 345, punctuation!",
]


def main() -> None:
    torch.manual_seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = BertConfig(
            vocab_size=1000,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=64,
        )
        BertModel(cfg).eval().save_pretrained(tmp)
        for f in ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]:
            shutil.copy(TOK / f, tmp / f)
        transformer = models.Transformer(str(tmp), max_seq_length=48)
        pooling = models.Pooling(32, pooling_mode="mean")
        dense1 = models.Dense(32, 16, bias=True, activation_function=torch.nn.Tanh())
        dense2 = models.Dense(
            16, 24, bias=False, activation_function=torch.nn.Identity(), use_residual=True
        )
        model = SentenceTransformer(
            modules=[transformer, pooling, dense1, dense2, models.Normalize()],
            prompts={"query": "search query: ", "document": "passage: "},
            device="cpu",
        )
        model.eval()
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.mkdir(parents=True)
        model.save(str(OUT / "model"))
        plain = model.encode(TEXTS, convert_to_numpy=True)
        query = model.encode(TEXTS, prompt_name="query", convert_to_numpy=True)
    expected = {
        "texts": TEXTS,
        "dim": int(plain.shape[1]),
        "plain": plain.astype(float).tolist(),
        "query": query.astype(float).tolist(),
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1))
    print("wrote", OUT, plain.shape)


if __name__ == "__main__":
    main()
