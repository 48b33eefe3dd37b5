"""Python speed: m2v (this repository's package) against model2vec 0.10, in one process.

Both load the same model folder; each configuration is timed best-of-N after one
untimed warm-up call, on the same texts, and the outputs are compared first (they
must be identical for a float32 model). Reports:

- corpus encode: texts/s for one ``encode(corpus)`` call (both with their defaults:
  model2vec threads batches through joblib above 10,000 texts, m2v uses every core),
  and with one thread (``use_multiprocessing=False``);
- single-call overhead: the median time of ``encode(["one short text"])`` and of
  ``encode("one short text")`` over many calls, which is what a request handler pays.

    python scripts/python_speed.py --model PATH/TO/potion-base-8M --corpus /tmp/corpus.txt

(the corpus: ``m2v-bench --write-corpus /tmp/corpus.txt``; install the package with
``pip install ./crates/m2v-python``, a release build).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def best_of(f, runs: int) -> float:
    f()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def per_call(f, calls: int) -> float:
    for _ in range(100):
        f()
    times = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        f()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1e3  # microseconds


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--json", default=None, help="also write the figures here")
    a = p.parse_args()

    import m2v
    from model2vec import StaticModel as Reference

    with open(a.corpus, encoding="utf-8") as f:
        corpus = f.read().splitlines()
    ours = m2v.StaticModel.from_pretrained(a.model)
    theirs = Reference.from_pretrained(a.model)
    x, y = ours.encode(corpus), theirs.encode(corpus)
    same = bool(np.array_equal(x, y))
    print(f"{len(corpus)} texts; outputs identical: {same} (max |diff| {np.abs(x - y).max():.3g})")

    rows = {}
    for name, kw in (("all cores (defaults)", {}), ("one thread", {"use_multiprocessing": False})):
        t_ours = best_of(lambda: ours.encode(corpus, **kw), a.runs)
        t_theirs = best_of(lambda: theirs.encode(corpus, **kw), max(2, a.runs // 2))
        rows[name] = {
            "m2v_texts_per_s": len(corpus) / t_ours,
            "model2vec_texts_per_s": len(corpus) / t_theirs,
            "ratio": t_theirs / t_ours,
        }
        print(
            f"corpus, {name}: m2v {len(corpus) / t_ours:,.0f} texts/s ({t_ours:.3f} s), "
            f"model2vec {len(corpus) / t_theirs:,.0f} texts/s ({t_theirs:.3f} s): {t_theirs / t_ours:.1f}x"
        )
    text = "It's dangerous to go alone!"
    for name, arg in (("list of one", [text]), ("one string", text)):
        us_ours = per_call(lambda: ours.encode(arg), a.calls)
        us_theirs = per_call(lambda: theirs.encode(arg), a.calls)
        rows[f"single call, {name}"] = {"m2v_us": us_ours, "model2vec_us": us_theirs, "ratio": us_theirs / us_ours}
        print(f"single call ({name}): m2v {us_ours:.1f} us, model2vec {us_theirs:.1f} us: {us_theirs / us_ours:.1f}x")
    if a.json:
        meta = {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "kernel_level": m2v.kernel_level,
            "texts": len(corpus),
            "identical": same,
        }
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
