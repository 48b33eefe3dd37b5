#!/usr/bin/env python3
"""Checkpoint formats other than one `model.safetensors`, written by PyTorch/transformers.

Run with the project venv, offline, after `scripts/golden_teacher_families.py`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_teacher_formats.py

Writes under `crates/m2v-teacher/tests/fixtures/formats/`:

- `sharded/`: the tiny RoBERTa checkpoint of `families/roberta` saved by
  `save_pretrained(max_shard_size=...)` as several `model-0000i-of-0000n.safetensors`
  plus `model.safetensors.index.json`;
- `bin/`: the same weights as `pytorch_model.bin`, written by `torch.save(state_dict)`
  (the zip format every PyTorch since 1.6 writes);
- `bin-sharded/`: the same weights split into two `pytorch_model-0000i-of-00002.bin`
  files with a `pytorch_model.bin.index.json`, as older `save_pretrained` wrote them;
- `views.bin`: a state dict of tensors that are views of their storage (a transpose,
  an offset slice, two tensors sharing one storage) in f32, f16, bf16 and f64, with
  values defined by `torch.arange`, for the reader's unit test.

The test (`tests/formats.rs`) runs each folder against the PyTorch goldens of
`families/roberta` (`hidden.json`/`hidden.bin`).
"""

import json
import shutil
from pathlib import Path

import torch
from transformers import AutoModel

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures"
SRC = FIX / "families" / "roberta"
OUT = FIX / "formats"


def main() -> None:
    model = AutoModel.from_pretrained(SRC)
    model.eval()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    sharded = OUT / "sharded"
    model.save_pretrained(sharded, max_shard_size="60KB")
    shards = sorted(p.name for p in sharded.glob("model-*.safetensors"))
    assert len(shards) > 1 and not (sharded / "model.safetensors").exists(), shards

    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    single = OUT / "bin"
    single.mkdir()
    shutil.copy(sharded / "config.json", single / "config.json")
    torch.save(state, single / "pytorch_model.bin")

    two = OUT / "bin-sharded"
    two.mkdir()
    shutil.copy(sharded / "config.json", two / "config.json")
    keys = list(state)
    halves = [keys[: len(keys) // 2], keys[len(keys) // 2 :]]
    weight_map = {}
    for i, part in enumerate(halves, start=1):
        name = f"pytorch_model-{i:05d}-of-00002.bin"
        torch.save({k: state[k] for k in part}, two / name)
        weight_map.update({k: name for k in part})
    (two / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map}, indent=2)
    )

    base = torch.arange(12, dtype=torch.float32)
    shared = torch.arange(10, dtype=torch.float32)
    views = {
        # [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]: strides (1, 4).
        "transposed": base.reshape(3, 4).t(),
        # elements 2..6 of a storage of 10: offset 2.
        "offset": shared[2:6],
        # the same storage again, whole.
        "whole": shared,
        "half": torch.arange(4, dtype=torch.float16) / 4,
        "bf16": torch.arange(3, dtype=torch.bfloat16) * 2,
        "double": torch.arange(3, dtype=torch.float64) / 8,
    }
    torch.save(views, OUT / "views.bin")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
