"""Ray Data: a local 2-worker cluster encodes a sharded Parquet dataset of 200,000 rows
with ``examples/ray_encode.py``; the result must equal single-process
``m2v-cli encode`` on the same rows, bit for bit, row for row (by id)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REQUIRE, _m2v_cli

if REQUIRE:
    import ray  # CI installs it: a missing Ray is a failure there
else:
    ray = pytest.importorskip("ray")
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from ray_encode import encode_dataset  # noqa: E402

ROWS = 200_000
SHARDS = 8


def embeddings(table: pa.Table) -> np.ndarray:
    col = table.column("embedding").combine_chunks()
    assert pa.types.is_fixed_size_list(col.type) and col.type.value_type == pa.float32()
    return col.values.to_numpy(zero_copy_only=False).reshape(len(col), col.type.list_size)


def test_ray_cluster_matches_single_process_cli(potion: str, sentences: list[str], tmp_path: Path) -> None:
    n = len(sentences)
    texts = [f"{sentences[i % n]} {sentences[(i * 7 + i // n) % n]}" for i in range(ROWS)]
    ids = np.arange(ROWS, dtype=np.int64)
    table = pa.table({"id": ids, "text": texts})
    shards = tmp_path / "in"
    shards.mkdir()
    step = ROWS // SHARDS
    for s in range(SHARDS):
        pq.write_table(table.slice(s * step, step), shards / f"part-{s:02}.parquet", row_group_size=10_000)
    whole = tmp_path / "all.parquet"
    pq.write_table(table, whole, row_group_size=10_000)

    # A local cluster of three nodes: the head (reads and writes the files) and two
    # worker nodes of one CPU each, where the two encoding actors run.
    from ray.cluster_utils import Cluster

    store = 128 * 1024 * 1024
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": store, "include_dashboard": False},
    )
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, object_store_memory=store, resources={"encoder": 1})
        ray.init(address=cluster.address, logging_level="ERROR")
        out = tmp_path / "ray-out"
        encode_dataset(
            potion, str(shards), str(out), column="text", id_column="id", workers=2, batch_size=8192,
            actor_resources={"encoder": 1}, blocks=SHARDS, node_column="node",
        )
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert len(nodes) == 3
    finally:
        ray.shutdown()
        cluster.shutdown()
    got = pq.read_table(out).sort_by("id")
    assert got.num_rows == ROWS
    workers = {n["NodeID"] for n in nodes if n["Resources"].get("encoder")}
    used = set(got.column("node").to_pylist())
    assert used == workers and len(used) == 2, "both worker nodes encoded rows"
    assert np.array_equal(got.column("id").to_numpy(), ids)

    cli = tmp_path / "cli.parquet"
    subprocess.run(
        [_m2v_cli(), "encode", "--model", potion, "--input", str(whole), "--column", "text",
         "--id-column", "id", "--output", str(cli), "--quiet"],
        check=True,
    )
    want = pq.read_table(cli)
    assert np.array_equal(want.column("id").to_numpy(), ids)
    a, b = embeddings(got), embeddings(want)
    assert a.shape == (ROWS, 256)
    assert np.array_equal(a, b)
