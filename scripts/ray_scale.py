"""Ray Data throughput per worker (docs/scale.md), against single-process m2v-cli.

Writes a sharded Parquet dataset (the corpus' texts repeated, an int64 id), then times
``crates/m2v-python/examples/ray_encode.py``'s ``encode_dataset`` on a local Ray
cluster with 1 and 2 encoding workers (each one CPU, ``use_multiprocessing=False``),
and ``m2v-cli encode`` (all cores) on the same rows in one file. Every output is
checked against the CLI's, row by row.

    python scripts/ray_scale.py --model PATH --corpus /tmp/corpus.txt --cli target/release/m2v-cli \\
        --rows 2000000 --shards 16 --workdir /tmp/ray-scale
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "crates" / "m2v-python" / "examples"))
from ray_encode import encode_dataset  # noqa: E402


def matrix(table: pa.Table) -> np.ndarray:
    col = table.column("embedding").combine_chunks()
    return col.values.to_numpy(zero_copy_only=False).reshape(len(col), col.type.list_size)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--shards", type=int, default=16)
    p.add_argument("--workdir", default="/tmp/ray-scale")
    p.add_argument("--workers", default="1,2")
    a = p.parse_args()

    work = Path(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    (work / "in").mkdir(parents=True)
    lines = Path(a.corpus).read_text(encoding="utf-8").splitlines()
    texts = [lines[i % len(lines)] for i in range(a.rows)]
    table = pa.table({"id": np.arange(a.rows, dtype=np.int64), "text": texts})
    step = -(-a.rows // a.shards)
    for s in range(a.shards):
        pq.write_table(table.slice(s * step, step), work / "in" / f"part-{s:03}.parquet")
    pq.write_table(table, work / "all.parquet")
    mb = sum(f.stat().st_size for f in (work / "in").iterdir()) / 1e6
    print(f"{a.rows} rows, {a.shards} shards, {mb:.0f} MB of Parquet")

    t = time.perf_counter()
    subprocess.run(
        [a.cli, "encode", "--model", a.model, "--input", str(work / "all.parquet"), "--column", "text",
         "--id-column", "id", "--output", str(work / "cli.parquet"), "--quiet"],
        check=True,
    )
    t_cli = time.perf_counter() - t
    want = matrix(pq.read_table(work / "cli.parquet"))
    print(f"m2v-cli encode, one process, all cores: {t_cli:.1f} s, {a.rows / t_cli:,.0f} rows/s")

    import ray

    for workers in [int(w) for w in a.workers.split(",")]:
        ray.init(num_cpus=workers + 1, include_dashboard=False, logging_level="ERROR")
        out = work / f"ray-{workers}"
        try:
            t = time.perf_counter()
            encode_dataset(a.model, str(work / "in"), str(out), "text", "id", workers=workers,
                           batch_size=16384, blocks=a.shards)
            elapsed = time.perf_counter() - t
        finally:
            ray.shutdown()
        got = pq.read_table(out).sort_by("id")
        same = np.array_equal(matrix(got), want)
        print(
            f"Ray Data, {workers} worker(s): {elapsed:.1f} s, {a.rows / elapsed:,.0f} rows/s, "
            f"{a.rows / elapsed / workers:,.0f} rows/s per worker; equal to m2v-cli: {same}"
        )


if __name__ == "__main__":
    main()
