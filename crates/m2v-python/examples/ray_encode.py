"""Encode a Parquet dataset with Ray Data and the m2v Python package.

Each Ray worker (an actor) loads the model once and encodes record batches on one
core; the embeddings are written as Parquet, beside the id column, in the same layout
as ``m2v-cli encode --output out.parquet``: an ``embedding`` column of type
``fixed_size_list<float32>[dim]``.

    python ray_encode.py --model minishlab/potion-base-8M --input data/ --output out/ \\
        --column text --id-column id --workers 2

On one machine this starts a local Ray cluster; with ``--address auto`` (or
``RAY_ADDRESS``) it joins a running one, so the same script runs on a multi-node
cluster (see docs/scale.md). Paths may be anything ``pyarrow`` reads, e.g. ``s3://``.
"""

from __future__ import annotations

import argparse
import time
from typing import Optional

import pyarrow as pa


class Encoder:
    """A Ray Data callable class: one model per worker, reused for every batch."""

    def __init__(
        self, model: str, column: str, id_column: Optional[str], threads: int = 1, node_column: Optional[str] = None
    ) -> None:
        from m2v import StaticModel

        self.model = StaticModel.from_pretrained(model)
        self.column = column
        self.id_column = id_column
        self.single_thread = threads == 1
        # Which node encoded each row (tests check that the work was spread).
        self.node_column = node_column

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column(self.column).to_pylist()
        if any(t is None for t in texts):
            raise ValueError(f"column {self.column!r} has a null text")
        emb = self.model.encode(texts, use_multiprocessing=not self.single_thread)
        values = pa.array(emb.reshape(-1), type=pa.float32())
        column = pa.FixedSizeListArray.from_arrays(values, emb.shape[1])
        names, arrays = [], []
        if self.id_column is not None:
            names.append(self.id_column)
            arrays.append(batch.column(self.id_column))
        names.append("embedding")
        arrays.append(column)
        if self.node_column is not None:
            import ray

            names.append(self.node_column)
            arrays.append(pa.array([ray.get_runtime_context().get_node_id()] * len(texts)))
        return pa.Table.from_arrays(arrays, names=names)


def encode_dataset(
    model: str,
    input: str,
    output: str,
    column: str = "text",
    id_column: Optional[str] = None,
    workers: int = 2,
    batch_size: int = 8192,
    actor_resources: Optional[dict[str, float]] = None,
    blocks: Optional[int] = None,
    node_column: Optional[str] = None,
) -> None:
    """Reads ``input`` (Parquet files), encodes ``column`` on ``workers`` actors of one
    CPU each, writes ``output`` (a folder of Parquet files). Ray must be initialised by
    the caller, with more CPUs than ``workers``: reading and writing are tasks that
    need a CPU of their own, so actors holding every CPU would wait forever.
    ``actor_resources`` (custom resources) pins the actors to chosen nodes; ``blocks``
    splits the input into that many blocks (Ray reads small files into one block,
    which only one worker would then encode); ``node_column`` adds a column
    naming the node that encoded each row."""
    import sys

    import ray.cloudpickle
    import ray.data

    # Workers get `Encoder` by value, so they need the m2v package but not this file.
    if __name__ != "__main__":
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ds = ray.data.read_parquet(input)
    if blocks:
        ds = ds.repartition(blocks)
    ds = ds.map_batches(
        Encoder,
        fn_constructor_kwargs={
            "model": model,
            "column": column,
            "id_column": id_column,
            "node_column": node_column,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        concurrency=workers,
        num_cpus=1,
        resources=actor_resources,
    )
    ds.write_parquet(output)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a model folder or hub id")
    p.add_argument("--input", required=True, help="a Parquet file, folder or glob")
    p.add_argument("--output", required=True, help="the output folder")
    p.add_argument("--column", default="text")
    p.add_argument("--id-column", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=8192)
    p.add_argument("--blocks", type=int, default=None, help="split the input into this many blocks")
    p.add_argument("--address", default=None, help="a Ray cluster to join (default: a local one)")
    a = p.parse_args()

    import ray

    if a.address:
        ray.init(address=a.address)
    else:
        # One CPU more than the workers: reading and writing need their own.
        ray.init(num_cpus=a.workers + 1, include_dashboard=False)
    start = time.perf_counter()
    encode_dataset(a.model, a.input, a.output, a.column, a.id_column, a.workers, a.batch_size, blocks=a.blocks)
    elapsed = time.perf_counter() - start
    import pyarrow.dataset

    n = pyarrow.dataset.dataset(a.output, format="parquet").count_rows()
    print(f"{n} rows in {elapsed:.1f} s: {n / elapsed:,.0f} rows/s on {a.workers} workers")


if __name__ == "__main__":
    main()
