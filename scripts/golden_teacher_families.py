#!/usr/bin/env python3
"""Tiny seeded checkpoints and PyTorch goldens for the BERT-shaped teacher families.

Run with the project venv (`pip install "model2vec[distill]==0.10.0"
sentence-transformers`, which brings torch and transformers), offline:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_teacher_families.py

For each family (DistilBERT, RoBERTa, XLM-RoBERTa, ModernBERT) it builds
`AutoModel.from_config` of a tiny config (vocabulary 1000, 2 layers, hidden 32, 4 heads,
seeded with `torch.manual_seed`; ModernBERT: 4 layers, global/local/local/global, a local
window of 8 so that the 32-token sequence is masked by it, no norm or attention biases
but MLP biases, special ids as in the 1000-token cut of its tokenizer made by
`scripts/golden_distill_families.py`) and writes, under `crates/m2v-teacher/tests/fixtures/families/<name>/`:

- `config.json` + `model.safetensors`: the checkpoint as `save_pretrained` writes it
  (about 200 KB each; real checkpoints of these families cannot be fetched here);
- `hidden.json` + `hidden.bin`: `last_hidden_state` (fp32, little-endian) of a set of
  id sequences of different lengths, run as ONE right-padded batch with its
  attention mask (as sentence-transformers runs them), each sequence's real rows only.

The tiny vocabulary keeps the files small; the ids are drawn below it, framed by the
family's bos/eos ids. The tokenizers of these families are exercised elsewhere.

Families can be named on the command line to regenerate only those (all by default).
"""

import json
import struct
import sys
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "families"

COMMON = dict(vocab_size=1000)

FAMILIES = {
    "distilbert": dict(
        model_type="distilbert",
        dim=32,
        n_layers=2,
        n_heads=4,
        hidden_dim=64,
        max_position_embeddings=64,
        pad_token_id=0,
        bos=101 % 1000,
        eos=102 % 1000,
    ),
    "roberta": dict(
        model_type="roberta",
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=66,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        bos=0,
        eos=2,
    ),
    "xlm-roberta": dict(
        model_type="xlm-roberta",
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=66,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        hidden_act="gelu",
        bos=0,
        eos=2,
    ),
    # transformers' ModernBertModel. Ids: [CLS] 988, [SEP] 989, [PAD] 990, as in the
    # 1000-token cut of ModernBERT's tokenizer (scripts/golden_distill_families.py).
    "modernbert": dict(
        model_type="modernbert",
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
        local_attention=8,
        global_attn_every_n_layers=3,
        global_rope_theta=160000.0,
        local_rope_theta=10000.0,
        attention_bias=False,
        mlp_bias=True,
        norm_bias=False,
        pad_token_id=990,
        bos_token_id=988,
        eos_token_id=989,
        cls_token_id=988,
        sep_token_id=989,
        bos=988,
        eos=989,
    ),
}


def main() -> None:
    only = sys.argv[1:]
    unknown = [n for n in only if n not in FAMILIES]
    if unknown:
        sys.exit(f"unknown families {unknown}; known: {list(FAMILIES)}")
    for seed, (name, spec) in enumerate(FAMILIES.items()):
        if only and name not in only:
            continue
        spec = dict(spec)
        bos, eos = spec.pop("bos"), spec.pop("eos")
        model_type = spec.pop("model_type")
        cfg = AutoConfig.for_model(model_type, **COMMON, **spec)
        torch.manual_seed(1234 + seed)
        model = AutoModel.from_config(cfg).eval()
        # Non-trivial LayerNorm and bias values (from_config initialises them to 1/0).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if p.dim() == 1:
                    p.add_(torch.randn_like(p) * 0.1)
                # Sharper attention, so that positions and the sliding window matter
                # well beyond the tolerance (ModernBERT's init is very flat).
                if name == "modernbert" and n.endswith("Wqkv.weight"):
                    p.mul_(4.0)
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)

        g = torch.Generator().manual_seed(99 + seed)
        pad = cfg.pad_token_id
        seqs = []
        for length in [1, 3, 7, 12, 30]:
            body = torch.randint(3, 1000, (length,), generator=g).tolist()
            body = [t if t != pad else 5 for t in body]
            seqs.append([bos] + body + [eos])
        seqs.append([bos, eos])
        longest = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), longest), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        rows = []
        for i, s in enumerate(seqs):
            rows.extend(hidden[i, : len(s)].reshape(-1).tolist())
        (d / "hidden.bin").write_bytes(struct.pack(f"<{len(rows)}f", *rows))
        (d / "hidden.json").write_text(
            json.dumps(
                {
                    "generator": "scripts/golden_teacher_families.py",
                    "torch": torch.__version__,
                    "hidden_size": cfg.hidden_size if hasattr(cfg, "hidden_size") else cfg.dim,
                    "sequences": seqs,
                    "tolerance": {"min_cosine": 0.99999, "max_abs": 1e-4},
                },
                indent=1,
            )
            + "\n"
        )
        print(name, "ok", sum(len(s) for s in seqs), "rows")


if __name__ == "__main__":
    main()
