#!/usr/bin/env python3
"""Teacher speed of the families whose real weights cannot be fetched here, beside PyTorch.

DistilBERT, XLM-RoBERTa, ModernBERT and Qwen 3 have only tiny seeded checkpoints in
this repository (their parity with PyTorch is tested on those). Speed does not depend
on the weights' values, so this script builds each at the size of its common base
model, with random weights (`AutoModel.from_config`, seeded; the vocabulary cut to
4096 rows, which only the embedding lookup sees), into `--work` (never committed):

- distilbert: distilbert-base (6 layers, 768, 12 heads, 3072);
- xlm-roberta: xlm-roberta-base (12 layers, 768, 12 heads, 3072);
- modernbert: ModernBERT-base (22 layers, 768, 12 heads, GeGLU 1152, local window 128,
  a global layer every 3rd);
- qwen3: Qwen3-Embedding-0.6B (28 layers, 1024, 16 heads / 8 KV heads of 128, SiLU MLP
  3072).

Then it times the distillation workload on both sides, as `scripts/bench_teacher.py`
does for the fetched teachers: 8 batches of 256 sequences `bos tok eos` (ids 1000 on,
the family's bos/eos ids; none for Qwen 3, which has no bos), forward pass + masked
mean pooling; PyTorch with `--threads` threads, best of `--repeats`. The m2v side is
`cargo bench -p m2v-benches --bench teacher` with `M2V_BENCH_TEACHERS` naming the
folder (distillation only; the folders have no tokenizer); the script runs it and
reads criterion's estimate, one family at a time, each right before its PyTorch run.

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/bench_teacher_families.py \\
        [--work /tmp/m2v-bench-families] [--threads 2] [--repeats 3] [FAMILY ...]
"""

import argparse
import json
import os
import subprocess
from pathlib import Path

import torch
from bench_teacher import criterion_rate, distill_batches, gflops_per_sequence, time_distill
from transformers import AutoConfig, AutoModel

ROOT = Path(__file__).resolve().parent.parent
VOCAB = 4096

FAMILIES = {
    "distilbert": dict(
        model_type="distilbert",
        dim=768,
        n_layers=6,
        n_heads=12,
        hidden_dim=3072,
        max_position_embeddings=512,
        pad_token_id=0,
        frame=([101], [102]),
    ),
    "xlm-roberta": dict(
        model_type="xlm-roberta",
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        frame=([0], [2]),
    ),
    "modernbert": dict(
        model_type="modernbert",
        hidden_size=768,
        num_hidden_layers=22,
        num_attention_heads=12,
        intermediate_size=1152,
        max_position_embeddings=8192,
        local_attention=128,
        global_attn_every_n_layers=3,
        global_rope_theta=160000.0,
        local_rope_theta=10000.0,
        attention_bias=False,
        mlp_bias=False,
        norm_bias=False,
        pad_token_id=3,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        frame=([1], [2]),
    ),
    "qwen3": dict(
        model_type="qwen3",
        hidden_size=1024,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_size=3072,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
        pad_token_id=4095,
        eos_token_id=4095,
        frame=([], [4095]),
    ),
}


def build(name: str, spec: dict, work: Path, seed: int) -> tuple[Path, list, list]:
    spec = dict(spec)
    bos, eos = spec.pop("frame")
    model_type = spec.pop("model_type")
    d = work / name
    if not (d / "model.safetensors").is_file():
        cfg = AutoConfig.for_model(model_type, vocab_size=VOCAB, **spec)
        torch.manual_seed(seed)
        model = AutoModel.from_config(cfg).eval()
        d.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
    (d / "bench_frame.json").write_text(json.dumps({"bos": bos, "eos": eos}))
    return d, bos, eos


def pytorch_rate(d: Path, bos: list, eos: list, batches: int, repeats: int) -> tuple[float, float]:
    """Sequences per second, and GFLOP per sequence (`scripts/bench_teacher.py`'s rule)."""
    model = AutoModel.from_pretrained(str(d), dtype=torch.float32).eval()
    t, _ = time_distill(model, distill_batches(bos, eos, batches), repeats)
    return 256 * batches / t, gflops_per_sequence(model, len(bos) + 1 + len(eos))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/m2v-bench-families")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("families", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    work = Path(a.work)
    names = a.families or list(FAMILIES)
    dirs = {}
    # Each family's seed is its place in FAMILIES, whichever families are asked for.
    for name in names:
        dirs[name] = build(name, FAMILIES[name], work, 4321 + list(FAMILIES).index(name))

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    rows = []
    # One family at a time, m2v then PyTorch, so both sides see the same machine state
    # (this shared VM drifts by 10% over minutes).
    for name, (d, bos, eos) in dirs.items():
        env = dict(os.environ, M2V_BENCH_TEACHERS=f"{name}={d}")
        subprocess.run(
            ["cargo", "bench", "-p", "m2v-benches", "--bench", "teacher", "--",
             "--warm-up-time", "2", "--measurement-time", "5", f"extra_{name}/"],
            cwd=ROOT, env=env, check=True,
        )
        ours = criterion_rate(target / "criterion" / f"extra_{name}" / "distill_batch256", 256)
        py, gflop = pytorch_rate(d, bos, eos, a.batches, a.repeats)
        rows.append(
            f"| {name} | {ours:,.0f} | {py:,.0f} | {ours / py:.2f}x | {ours * gflop:.0f} "
            f"| {py * gflop:.0f} |"
        )
    print(f"| family (random weights, real size) | m2v tokens/s | PyTorch {torch.__version__} "
          "tokens/s | ratio | m2v GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))

if __name__ == "__main__":
    main()
