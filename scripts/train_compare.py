#!/usr/bin/env python3
"""Classifier training, m2v against Python model2vec 0.10.0, on SST-2, TREC and SUBJ.

Run from the repository root with the project venv, offline, after
`cargo build --release -p m2v-cli` and `cargo xtask fetch`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/train_compare.py \
        [--seeds 1 2 3] [--sets sst2 trec subj] [--m2v target/release/m2v-cli] [--out docs/train-results.json]

For every set and seed, in one run on one machine and alternating the two:
- Python: `StaticModelForClassification.from_pretrained(potion-base-8M).fit(X, y,
  random_seed=seed)` with the reference's defaults (its own validation split of the
  training data), timed around `fit` and as a whole process (`python -c`, imports
  included);
- m2v: `m2v-cli train classify --model potion-base-8M --data train.jsonl --seed S`
  (its own split of the same training data, the same defaults), timed as a whole
  process, then `m2v-cli evaluate` on the test data (not timed);
- both scored by accuracy on the set's test split (SST-2: the official test split;
  TREC: TREC_10; SUBJ, which has no split: every fifth sentence of each file is test).

The data files are written under target/train-data/ (never committed). Results go to
`--out` as JSON; docs/train.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "senteval"
WORK = ROOT / "target" / "train-data"
POTION = "minishlab/potion-base-8M"


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for text, label in rows:
            f.write(json.dumps({"text": text, "label": label}) + "\n")


def read_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("latin-1").splitlines()


def prepare() -> dict[str, tuple[Path, Path]]:
    sets = {}
    # SST-2: text TAB label.
    def sst(name: str) -> list[tuple[str, str]]:
        rows = []
        for line in (SHARED / "SST/binary" / f"sentiment-{name}").read_text().splitlines():
            text, _, label = line.rpartition("\t")
            if text.strip():
                rows.append((text.strip(), label.strip()))
        return rows

    sets["sst2"] = (sst("train"), sst("test"))

    def trec(name: str) -> list[tuple[str, str]]:
        rows = []
        for line in read_lines(SHARED / "TREC" / name):
            label, _, text = line.partition(" ")
            if text.strip():
                rows.append((text.strip(), label.split(":")[0]))
        return rows

    sets["trec"] = (trec("train_5500.label"), trec("TREC_10.label"))
    train, test = [], []
    for label, name in (("objective", "subj.objective"), ("subjective", "subj.subjective")):
        for i, line in enumerate(l for l in read_lines(SHARED / "SUBJ" / name) if l.strip()):
            (test if i % 5 == 0 else train).append((line.strip(), label))
    sets["subj"] = (train, test)
    out = {}
    for name, (tr, te) in sets.items():
        write_jsonl(WORK / name / "train.jsonl", tr)
        write_jsonl(WORK / name / "test.jsonl", te)
        out[name] = (WORK / name / "train.jsonl", WORK / name / "test.jsonl")
    return out


PY_FIT = r"""
import json, sys, time
t0 = time.perf_counter()
from model2vec.train import StaticModelForClassification
train, test, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(train)]
trows = [json.loads(l) for l in open(test)]
model = StaticModelForClassification.from_pretrained("%s")
t1 = time.perf_counter()
model.fit([r["text"] for r in rows], [r["label"] for r in rows], random_seed=seed)
t2 = time.perf_counter()
pred = model.predict([r["text"] for r in trows])
acc = sum(p == r["label"] for p, r in zip(pred, trows)) / len(trows)
print(json.dumps({"fit_s": t2 - t1, "setup_s": t1 - t0, "accuracy": acc}))
""" % POTION


def run_python(train: Path, test: Path, seed: int) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PY_FIT, str(train), str(test), str(seed)],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def run_m2v(binary: str, train: Path, test: Path, seed: int) -> dict:
    out_dir = WORK / "pipelines" / f"{train.parent.name}-{seed}"
    start = time.perf_counter()
    subprocess.run(
        [binary, "train", "classify", "--model", POTION, "--data", str(train),
         "--output", str(out_dir), "--seed", str(seed), "--force", "--quiet"],
        check=True,
    )
    elapsed = time.perf_counter() - start
    report = subprocess.run(
        [binary, "evaluate", "--model", str(out_dir), "--data", str(test), "--json"],
        check=True, capture_output=True, text=True,
    )
    return {"process_s": elapsed, "accuracy": json.loads(report.stdout)["accuracy"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--sets", nargs="+", default=["sst2", "trec", "subj"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ap.add_argument("--m2v", default=str(target / "release" / "m2v-cli"))
    ap.add_argument("--out", default=str(ROOT / "target/train-compare.json"))
    args = ap.parse_args()
    data = prepare()
    results = []
    for name in args.sets:
        train, test = data[name]
        for seed in args.seeds:
            py = run_python(train, test, seed)
            m2v = run_m2v(args.m2v, train, test, seed)
            row = {"set": name, "seed": seed, "python": py, "m2v": m2v}
            print(json.dumps(row), flush=True)
            results.append(row)
    Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "runs": results}, indent=1) + "\n")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
