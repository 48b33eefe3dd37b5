#!/usr/bin/env python3
"""Golden outputs of Python model2vec 0.10.0 pipelines (`model2vec.train` +
`model2vec.inference.StaticModelPipeline`) for the pipeline parity tests.

Run with the project venv, offline, in two passes:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_pipeline.py
    scripts/golden_pipeline_m2v.sh        # m2v-cli trains its own pipelines on the same data
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_pipeline.py

Writes:
  crates/m2v-train/tests/fixtures/synthetic/{train,test}.jsonl
      a synthetic three-topic data set over the tiny test model's vocabulary (seeded;
      `text`, `label` (one topic), `labels` (every topic whose words occur), `score`
      (the share of water words)), small enough to commit;
  crates/m2v-static/tests/fixtures/pipelines/py_{single,multi,regression}/
      pipelines trained and saved by Python model2vec from the tiny f32 test model;
  crates/m2v-static/tests/fixtures/pipelines/golden.json
      for every pipeline folder there (Python's, and on the second pass the ones m2v
      trained, `m2v_*`), what Python's `StaticModelPipeline` predicts on the test texts:
      `predict_proba` (or the regression outputs) and `predict`.

The Rust tests load every folder with `m2v_static::Pipeline` and compare: the same
labels, probabilities within 1e-5.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from model2vec.inference import StaticModelPipeline  # noqa: E402
from model2vec.train import StaticModelForClassification  # noqa: E402
from model2vec.train.regression import StaticModelForRegression  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "crates/m2v-static/tests/fixtures/tiny/tiny_f32"
DATA = ROOT / "crates/m2v-train/tests/fixtures/synthetic"
OUT = ROOT / "crates/m2v-static/tests/fixtures/pipelines"

TOPICS = {
    "water": ["water", "swimming", "boat", "pool", "canoe", "surf"],
    "music": ["guitar", "singing", "dancing", "album", "show", "playing"],
    "street": ["street", "station", "train", "railroad", "tram", "sidewalk"],
}
NEUTRAL = ["woman", "with", "people", "young", "girl", "person", "some", "there", "little", "family", "three"]


def synthetic(n: int, rng: random.Random) -> list[dict]:
    rows = []
    names = sorted(TOPICS)
    for _ in range(n):
        main = rng.choice(names)
        words = rng.sample(TOPICS[main], 2) + rng.sample(NEUTRAL, 3)
        if rng.random() < 0.4:
            other = rng.choice([t for t in names if t != main])
            words.append(rng.choice(TOPICS[other]))
        rng.shuffle(words)
        labels = sorted({t for t in names for w in words if w in TOPICS[t]})
        water = sum(w in TOPICS["water"] for w in words) / len(words)
        rows.append({"text": " ".join(words), "label": main, "labels": labels, "score": round(water, 4)})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def main() -> None:
    rng = random.Random(20261206)
    train, test = synthetic(600, rng), synthetic(60, rng)
    write_jsonl(DATA / "train.jsonl", train)
    write_jsonl(DATA / "test.jsonl", test)
    texts = [r["text"] for r in train]
    test_texts = [r["text"] for r in test]

    OUT.mkdir(parents=True, exist_ok=True)
    fits = {
        "py_single": (StaticModelForClassification, [r["label"] for r in train]),
        "py_multi": (StaticModelForClassification, [r["labels"] for r in train]),
        "py_regression": (StaticModelForRegression, [[r["score"]] for r in train]),
    }
    for name, (cls, y) in fits.items():
        model = cls.from_pretrained(str(TINY), hidden_dim=16)
        model.fit(texts, y, max_epochs=8, random_seed=7)
        target = OUT / name
        if target.exists():
            shutil.rmtree(target)
        model.to_pipeline().save_pretrained(str(target))

    golden = {}
    for folder in sorted(p for p in OUT.iterdir() if p.is_dir()):
        pipe = StaticModelPipeline.from_pretrained(str(folder))
        activation = pipe.head.activation.value
        if activation == "identity":
            outputs = np.asarray(pipe.predict(test_texts), dtype=np.float64)
            predictions = None
        else:
            outputs = np.asarray(pipe.predict_proba(test_texts), dtype=np.float64)
            predictions = [
                p.tolist() if isinstance(p, np.ndarray) else (p.item() if hasattr(p, "item") else p)
                for p in pipe.predict(test_texts)
            ]
        golden[folder.name] = {
            "activation": activation,
            "classes": None if pipe.classes_ is None else np.asarray(pipe.classes_).tolist(),
            "outputs": outputs.tolist(),
            "predictions": predictions,
        }
    (OUT / "golden.json").write_text(json.dumps({"texts": test_texts, "pipelines": golden}, indent=1) + "\n")
    print("wrote", ", ".join(golden))


if __name__ == "__main__":
    main()
