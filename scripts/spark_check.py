"""The Spark example of docs/scale.md, run on a local Spark (``local[2]``): encodes the
first 100,000 texts of a corpus with ``mapInArrow`` and the ``m2v`` package, and checks
the rows against ``m2v.StaticModel.encode`` (bit-identical) and the ids.

Not part of CI (it needs a JVM and pyspark). Run it once by hand:

    pip install pyspark
    PYSPARK_PYTHON=$(which python) python scripts/spark_check.py PATH/TO/potion-base-8M /tmp/corpus.txt
"""

import sys, time
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

MODEL = sys.argv[1]
CORPUS = sys.argv[2] if len(sys.argv) > 2 else "/tmp/corpus.txt"
WORK = "/tmp/m2v-spark-check"
def encode_batches(batches):
    from m2v import StaticModel
    model = StaticModel.from_pretrained(MODEL)
    for batch in batches:
        emb = model.encode(batch.column("text").to_pylist(), use_multiprocessing=False)
        offsets = pa.array(np.arange(0, emb.size + 1, emb.shape[1], dtype=np.int32))
        column = pa.ListArray.from_arrays(offsets, pa.array(emb.reshape(-1)))
        yield pa.RecordBatch.from_arrays([batch.column("id"), column], names=["id", "embedding"])

lines = open(CORPUS, encoding="utf-8").read().splitlines()[:100000]
import os
os.makedirs(WORK, exist_ok=True)
pq.write_table(pa.table({"id": np.arange(len(lines), dtype=np.int64), "text": lines}), f"{WORK}/in.parquet")
spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
t = time.time()
texts = spark.read.parquet(f"{WORK}/in.parquet").select("id", "text")
texts.mapInArrow(encode_batches, "id long, embedding array<float>").write.mode("overwrite").parquet(f"{WORK}/out")
print("spark seconds", time.time() - t)
spark.stop()
got = pq.read_table(f"{WORK}/out").sort_by("id")
from m2v import StaticModel
want = StaticModel.from_pretrained(MODEL).encode(lines)
col = got.column("embedding").combine_chunks()
arr = col.flatten().to_numpy().reshape(len(col), -1)
print("rows", got.num_rows, "equal", np.array_equal(arr, want), "ids ok", np.array_equal(got.column("id").to_numpy(), np.arange(len(lines))))
