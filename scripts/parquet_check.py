#!/usr/bin/env python3
"""Parquet interoperability of `m2v-cli encode` with pyarrow and Python model2vec.

Writes Parquet files with pyarrow (snappy, zstd, gzip, lz4; an int64 and a string id
column; several row groups), runs `m2v-cli encode --input X.parquet --column text
--id-column id --output Y.parquet` on each, reads the output back with pyarrow, and
checks:

- the schema: the id column as written (int64 or string), then `embedding`,
  `fixed_size_list<item: float not null>[dim] not null`;
- the ids, in order;
- the embeddings bit for bit against `m2v-cli encode`'s plain-text path on the same
  texts (npy), the oracle the CLI tests use;
- the embeddings against Python `StaticModel.from_pretrained(<model dir>).encode`, with
  the project's tolerance for f32 models (scripts/golden_static.py): max |diff| <= 1e-6
  (same rows, summed in the same order; numpy may differ in the last bit), and the
  count of bit-identical rows is printed.

    ~/.cache/m2v/pyenv/bin/python scripts/parquet_check.py \
        --cli $CARGO_TARGET_DIR/release/m2v-cli [--model DIR] [--rows 20000]

`--model` defaults to potion-base-8M in the Hugging Face cache. The texts are the first
`--rows` lines of ../shared/data/corpus/english-653k.txt plus edge cases (empty,
Unicode, whitespace). Exits non-zero on any mismatch. Docs: docs/formats.md.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import snapshot_download
from model2vec import StaticModel

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "english-653k.txt"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True, help="path to the m2v-cli binary")
    ap.add_argument("--model", help="model folder (default: potion-base-8M from the HF cache)")
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    model_dir = args.model or snapshot_download("minishlab/potion-base-8M", local_files_only=True)

    with open(CORPUS, encoding="utf-8") as f:
        texts = [next(f).rstrip("\n") for _ in range(args.rows)]
    texts += ["", "   ", "☃ 日本語 ünïcödé", "a \"quoted\", text", "x" * 5000]
    model = StaticModel.from_pretrained(model_dir)
    want = model.encode(texts).astype(np.float32)

    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The oracle: the plain-text path.
        (tmp / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        subprocess.run(
            [args.cli, "encode", "--quiet", "--model", model_dir,
             "--input", str(tmp / "in.txt"), "--output", str(tmp / "text.npy")],
            check=True,
        )
        text_rows = np.load(tmp / "text.npy")
        id_kinds = {
            "int64": pa.array(np.arange(len(texts), dtype=np.int64) * 3 - 5),
            "string": pa.array([f"doc-{i}" for i in range(len(texts))]),
        }
        for codec in ["snappy", "zstd", "gzip", "lz4"]:
            for kind, ids in id_kinds.items():
                name = f"{codec}-{kind}"
                src = tmp / f"{name}.parquet"
                table = pa.table({"id": ids, "text": pa.array(texts), "n": pa.array(range(len(texts)))})
                pq.write_table(table, src, compression=codec, row_group_size=7000)
                out = tmp / f"{name}.out.parquet"
                subprocess.run(
                    [args.cli, "encode", "--quiet", "--model", model_dir, "--input", str(src),
                     "--column", "text", "--id-column", "id", "--output", str(out)],
                    check=True,
                )
                got = pq.read_table(out)
                dim = want.shape[1]
                expect_schema = pa.schema([
                    pa.field("id", ids.type),
                    pa.field("embedding", pa.list_(pa.field("item", pa.float32(), nullable=False), dim),
                             nullable=False),
                ])
                problems = []
                diff, same = float("nan"), 0
                if not got.schema.equals(expect_schema):
                    problems.append(f"schema {got.schema} != {expect_schema}")
                if got.column("id").combine_chunks() != ids:
                    problems.append("ids differ")
                emb = got.column("embedding").combine_chunks()
                rows = emb.values.to_numpy(zero_copy_only=False).reshape(-1, dim)
                if rows.shape != want.shape:
                    problems.append(f"shape {rows.shape} != {want.shape}")
                else:
                    if not np.array_equal(rows.view(np.uint32), text_rows.view(np.uint32)):
                        problems.append("not bit-identical to the text path")
                    diff = float(np.abs(rows - want).max())
                    same = int((rows.view(np.uint32) == want.view(np.uint32)).all(axis=1).sum())
                    if diff > 1e-6:
                        problems.append(f"max |diff| vs Python {diff:.3g} > 1e-6")
                groups = pq.ParquetFile(src).num_row_groups
                status = "ok" if not problems else "FAIL: " + "; ".join(problems)
                print(
                    f"{name:14} rows {len(texts)} in {groups} row groups: max |diff| vs Python "
                    f"{diff:.3g}, {same}/{len(texts)} rows bit-identical to Python, "
                    f"text path bit-identical: {'yes' if 'not bit-identical to the text path' not in problems else 'no'}; {status}"
                )
                failures += bool(problems)
    print("all ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
