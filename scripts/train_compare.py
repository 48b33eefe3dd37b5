#!/usr/bin/env python3
"""Training, m2v against Python model2vec 0.10.0: the four tasks of `model2vec.train`.

Sets: SST-2, TREC and SUBJ (single-label classification); `tags` (multi-label: 20
Newsgroups messages tagged with the parts of their group's name, e.g.
`comp.sys.mac.hardware` -> comp, sys, mac, hardware; every fifth message is test);
`stsreg` (regression: the STS-B score from the pair written as one text, `s1 | s2`);
`sim` (similarity: all-MiniLM-L6-v2's sentence embeddings of 20,000 corpus lines as
target vectors, 2,000 more lines as test); `pairs` (STS-B pairs scored 3 or more,
InfoNCE; test: recall@1 of s1 -> s2 among the test pairs).

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

For the last four sets, both sides save a pipeline (Python: `fit` then
`to_pipeline().save_pretrained`, timed with the process) and both pipelines are scored
here by Python's `StaticModelPipeline` (so each m2v pipeline also crosses to Python):
subset accuracy and mean Jaccard (tags), Pearson r (stsreg), mean cosine to the
target (sim), recall@1 (pairs).

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
    ap.add_argument("--sets", nargs="+", default=["sst2", "trec", "subj", "tags", "stsreg", "sim", "pairs"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ap.add_argument("--m2v", default=str(target / "release" / "m2v-cli"))
    ap.add_argument("--out", default=str(ROOT / "target/train-compare.json"))
    args = ap.parse_args()
    data = prepare()
    data.update(prepare_tasks(args.sets))
    results = []
    for name in args.sets:
        train, test = data[name]
        for seed in args.seeds:
            if name in TASKS:
                py = run_python_task(name, train, seed)
                m2v = run_m2v_task(args.m2v, name, train, seed)
                py.update(score(name, Path(py["pipeline"]), test))
                m2v.update(score(name, Path(m2v["pipeline"]), test))
            else:
                py = run_python(train, test, seed)
                m2v = run_m2v(args.m2v, train, test, seed)
            row = {"set": name, "seed": seed, "python": py, "m2v": m2v}
            print(json.dumps(row), flush=True)
            results.append(row)
    Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "runs": results}, indent=1) + "\n")


# The generic tasks: the m2v subcommand and the Python class for each.
TASKS = {
    "tags": ("classify", "StaticModelForClassification"),
    "stsreg": ("regression", "StaticModelForRegression"),
    "sim": ("similarity", "StaticModelForSimilarity"),
    "pairs": ("pairs", "StaticModelForPairSimilarity"),
}


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    tmp.rename(path)


def one_line(text: str) -> str:
    return " ".join(text.split())


def sts_rows(name: str) -> list[tuple[float, str, str]]:
    rows = []
    path = ROOT.parent / "shared/data/stsbenchmark" / f"sts-{name}.csv"
    for line in path.read_text().splitlines():
        f = line.split("\t")
        rows.append((float(f[4]), one_line(f[5]), one_line(f[6])))
    return rows


def prepare_tasks(names: list[str]) -> dict[str, tuple[Path, Path]]:
    out = {}
    if "tags" in names:
        train, test = [], []
        src = ROOT.parent / "shared/data/clustering/twentynewsgroups/test.jsonl"
        for i, line in enumerate(src.read_text().splitlines()):
            r = json.loads(line)
            row = {"text": one_line(r["subject"] + " " + r["text"])[:1000],
                   "label": r["label"].split(".")}
            (test if i % 5 == 0 else train).append(row)
        out["tags"] = (train, test)
    if "stsreg" in names:
        out["stsreg"] = tuple(
            [{"text": f"{a} | {b}", "label": s} for s, a, b in sts_rows(n)] for n in ("train", "test"))
    if "pairs" in names:
        out["pairs"] = tuple(
            [{"text_a": a, "text_b": b} for s, a, b in sts_rows(n) if s >= 3.0] for n in ("train", "test"))
    paths = {}
    for name, (tr, te) in out.items():
        write_rows(WORK / name / "train.jsonl", tr)
        write_rows(WORK / name / "test.jsonl", te)
        paths[name] = (WORK / name / "train.jsonl", WORK / name / "test.jsonl")
    if "sim" in names:
        paths["sim"] = prepare_sim()
    return paths


def prepare_sim() -> tuple[Path, Path]:
    """20,000 + 2,000 corpus lines with all-MiniLM-L6-v2's embeddings (cached)."""
    train, test = WORK / "sim" / "train.jsonl", WORK / "sim" / "test.jsonl"
    if train.exists() and test.exists():
        return train, test
    from sentence_transformers import SentenceTransformer

    lines = []
    with (ROOT.parent / "shared/data/corpus/english-653k.txt").open() as f:
        for line in f:
            if line.strip():
                lines.append(line.strip())
            if len(lines) == 22_000:
                break
    teacher = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    vecs = teacher.encode(lines, batch_size=64, show_progress_bar=True)
    rows = [{"text": t, "label": [round(float(x), 6) for x in v]} for t, v in zip(lines, vecs)]
    write_rows(train, rows[:20_000])
    write_rows(test, rows[20_000:])
    return train, test


PY_TASK = r"""
import json, sys
from model2vec import train as T
name, cls, data, out, seed = sys.argv[1:6]
rows = [json.loads(l) for l in open(data)]
model = getattr(T, cls).from_pretrained("%s")
if name == "pairs":
    model.fit([r["text_a"] for r in rows], [r["text_b"] for r in rows], random_seed=int(seed))
else:
    y = [r["label"] for r in rows]
    if name == "stsreg":
        y = [[v] for v in y]
    model.fit([r["text"] for r in rows], y, random_seed=int(seed))
model.to_pipeline().save_pretrained(out)
""" % POTION


def run_python_task(name: str, train: Path, seed: int) -> dict:
    out = WORK / "pipelines" / f"py-{name}-{seed}"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PY_TASK, name, TASKS[name][1], str(train), str(out), str(seed)],
                   check=True, capture_output=True, text=True)
    return {"process_s": time.perf_counter() - start, "pipeline": str(out)}


def run_m2v_task(binary: str, name: str, train: Path, seed: int) -> dict:
    out = WORK / "pipelines" / f"m2v-{name}-{seed}"
    start = time.perf_counter()
    subprocess.run([binary, "train", TASKS[name][0], "--model", POTION, "--data", str(train),
                    "--output", str(out), "--seed", str(seed), "--force", "--quiet"], check=True)
    return {"process_s": time.perf_counter() - start, "pipeline": str(out)}


def score(name: str, pipeline: Path, test: Path) -> dict:
    """Scores a saved pipeline (either side's) on the test rows with Python's loader."""
    import numpy as np
    from model2vec.inference import StaticModelPipeline

    pipe = StaticModelPipeline.from_pretrained(pipeline)
    rows = [json.loads(l) for l in test.open()]
    if name == "tags":
        pred = pipe.predict([r["text"] for r in rows])
        exact, jac = 0, 0.0
        for p, r in zip(pred, rows):
            p, t = set(map(str, p)), set(r["label"])
            exact += p == t
            jac += len(p & t) / len(p | t) if p | t else 1.0
        return {"subset_accuracy": exact / len(rows), "jaccard": jac / len(rows)}
    if name == "stsreg":
        pred = np.asarray(pipe.predict([r["text"] for r in rows]), dtype=np.float64).reshape(-1)
        gold = np.asarray([r["label"] for r in rows], dtype=np.float64)
        return {"pearson": float(np.corrcoef(pred, gold)[0, 1]), "mse": float(np.mean((pred - gold) ** 2))}

    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    if name == "sim":
        pred = unit(pipe.predict([r["text"] for r in rows]))
        gold = unit([r["label"] for r in rows])
        return {"mean_cosine": float(np.mean(np.sum(pred * gold, axis=1)))}
    a = unit(pipe.predict([r["text_a"] for r in rows]))
    b = unit(pipe.predict([r["text_b"] for r in rows]))
    best = np.argmax(a @ b.T, axis=1)
    hits = sum(rows[j]["text_b"] == rows[i]["text_b"] for i, j in enumerate(best))
    return {"recall_at_1": hits / len(rows)}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
