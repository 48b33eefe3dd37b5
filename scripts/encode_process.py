#!/usr/bin/env python3
"""Whole-process encode: `m2v-cli encode` against the minimal model2vec-rs program
(`peer-encode`, benches/src/bin/peer-encode.rs) and Python model2vec 0.10, each run as
a fresh process that loads the model, reads a file of texts (one per line), encodes
every line and writes f32 rows. Runs alternate between the programs, so that the
machine's drift hits all of them alike; each run's wall time and peak RSS (GNU
`/usr/bin/time`'s `%M`) are recorded, and the median time is reported.

    python3 scripts/encode_process.py --cli target/release/m2v-cli \
        --peer target/release/peer-encode --model ~/.cache/.../potion-base-8M \
        --corpus corpus.txt [--python ~/.cache/m2v/pyenv/bin/python] [--runs 5] \
        [--repeat 4] [--output /dev/null] [--json out.json]

`--corpus` is the benchmark corpus as written by `m2v-bench --write-corpus`;
`--repeat 4` also times a file of four copies of it. Every program writes to
`--output` (default /dev/null: the cost of producing the bytes, not of the disk).
The first run of each program is a warm-up and is not counted (page cache).
Docs: docs/bench.md, "Whole-process encode".
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PY_PROGRAM = r"""
import sys
import numpy as np
from model2vec import StaticModel
model, inp, out = sys.argv[1:4]
m = StaticModel.from_pretrained(model)
with open(inp, encoding="utf-8") as f:
    texts = f.read().split("\n")
if texts and texts[-1] == "":
    texts.pop()
e = m.encode(texts)
with open(out, "wb") as f:
    f.write(np.ascontiguousarray(e, dtype="<f4").tobytes())
"""


def run_once(cmd):
    """Wall seconds and peak RSS (MiB) of one run of `cmd`. The RSS comes from GNU
    time's `%M` (the child's own high-water mark): this script's `wait4` would also
    count the pages of this Python process that a forked child starts with."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "M2V_MAXRSS_KB %M"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {err}")
    kb = [int(l.split()[1]) for l in err.splitlines() if l.startswith("M2V_MAXRSS_KB ")]
    return wall, kb[-1] / 1024


def check_outputs(a, progs, tmp):
    """Runs each program once on the corpus into a file and prints the largest
    difference of its rows from m2v-cli's (numpy needed; skipped without it)."""
    try:
        import numpy as np
    except ImportError:
        print("numpy not found: outputs not compared", file=sys.stderr)
        return
    rows = {}
    for prog, cmd, _ in progs:
        out = os.path.join(tmp, "check.out")
        run_once([out if c == a.output else c for c in cmd])
        with open(out, "rb") as f:
            data = f.read()
        os.remove(out)
        if prog == "m2v-cli":
            data = data[128:]  # the npy header
        rows[prog] = np.frombuffer(data, dtype="<f4")
    ours = rows.pop("m2v-cli")
    for prog, r in rows.items():
        same = r.shape == ours.shape
        diff = float(np.abs(r - ours).max()) if same else float("nan")
        print(f"check: {prog} rows vs m2v-cli's: {r.size} values, max abs diff {diff:.3g}",
              file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--peer")
    ap.add_argument("--python")
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python-runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0, help="m2v-cli --threads (0: all)")
    ap.add_argument("--output", default="/dev/null")
    ap.add_argument("--format", default="npy")
    ap.add_argument("--json")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="m2v-encode-process-")
    inputs = [("corpus", a.corpus)]
    with open(a.corpus, "rb") as f:
        data = f.read()
    lines = data.count(b"\n")
    if a.format != "npy":
        sys.exit("--format: the comparison reads m2v-cli's npy output; time other formats "
                 "with m2v-cli alone")
    if a.repeat > 1:
        big = os.path.join(tmp, f"corpus-x{a.repeat}.txt")
        with open(big, "wb") as f:
            for _ in range(a.repeat):
                f.write(data)
        inputs.append((f"corpus x{a.repeat}", big))
    py_file = os.path.join(tmp, "py_encode.py")
    with open(py_file, "w") as f:
        f.write(PY_PROGRAM)

    def programs(path):
        cli = [a.cli, "encode", "--model", a.model, "--input", path, "--output", a.output,
               "--format", a.format, "--quiet"]
        if a.threads:
            cli += ["--threads", str(a.threads)]
        out = [("m2v-cli", cli, a.runs)]
        if a.peer:
            out.append(("model2vec-rs", [a.peer, a.model, path, a.output], a.runs))
        if a.python:
            out.append(("Python model2vec", [a.python, py_file, a.model, path, a.output],
                        a.python_runs))
        return out

    check_outputs(a, programs(a.corpus), tmp)
    results = []
    for name, path in inputs:
        n = lines * (a.repeat if name != "corpus" else 1)
        progs = programs(path)
        for _, cmd, _ in progs:
            run_once(cmd)  # warm-up: page cache, first touches
        times = {p[0]: [] for p in progs}
        rss = {p[0]: [] for p in progs}
        for r in range(max(p[2] for p in progs)):
            order = progs if r % 2 == 0 else progs[::-1]
            for prog, cmd, runs in order:
                if r >= runs:
                    continue
                w, m = run_once(cmd)
                times[prog].append(w)
                rss[prog].append(m)
                print(f"{name}: {prog} {w:.3f} s, {m:.0f} MiB", file=sys.stderr)
        for prog, _, _ in progs:
            med = statistics.median(times[prog])
            results.append({
                "input": name, "lines": n, "program": prog,
                "runs": times[prog], "median_s": med, "texts_per_s": n / med,
                "peak_rss_mib": max(rss[prog]),
            })
    base = {(r["input"]): r["median_s"] for r in results if r["program"] == "m2v-cli"}
    print("| input | program | median s | texts/s | peak RSS MiB | time / m2v-cli's |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = r["median_s"] / base[r["input"]]
        print(f"| {r['input']} ({r['lines']:,} lines) | {r['program']} | {r['median_s']:.3f} | "
              f"{r['texts_per_s']:,.0f} | {r['peak_rss_mib']:.0f} | {ratio:.2f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
