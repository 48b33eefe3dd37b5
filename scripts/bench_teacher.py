#!/usr/bin/env python3
"""PyTorch CPU side of the teacher benchmark (`cargo bench -p m2v-benches --bench teacher`).

Measures the same two workloads as benches/benches/teacher.rs, fp32 on the CPU:

- distillation: `[CLS] tok [SEP]` for consecutive vocabulary ids (from 1000 on),
  batches of 256, `AutoModel` forward + masked mean pooling, as model2vec 0.10 feeds
  its teacher. Reported as vocabulary tokens (sequences) per second.
- sentences: `SentenceTransformer.encode` of the first 1024 sentences of the STS-B
  test set (both columns), batch size 64. Reported as sentences per second.

Usage (offline, after `cargo xtask fetch`):

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/bench_teacher.py \
        [--model all-MiniLM-L6-v2] [--batches 8] [--threads N] [--repeats 3]

Prints one line per workload with the best of `--repeats` runs: wall-clock throughput
and, because the machine is often shared, the process CPU time of that run.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def snapshot(hub_id: str) -> Path:
    repo = HUB / ("models--" + hub_id.replace("/", "--"))
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()


def sts_sentences(n: int) -> list[str]:
    data = Path(os.environ.get("M2V_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (data / "README.md").is_file():
        data = Path("/work/shared/data")
    out = []
    for line in (data / "stsbenchmark" / "sts-test.csv").read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) >= 7:
            out += [cols[5], cols[6]]
    return out[:n]


def best_of(repeats: int, f) -> tuple[float, float]:
    """Best wall-clock time of `repeats` runs, and the process CPU time of that run."""
    best = (float("inf"), 0.0)
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        f()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sentences", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = snapshot("sentence-transformers/" + args.model)
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path), torch_dtype=torch.float32).eval()

    n = 256 * args.batches
    ids = torch.arange(1000, 1000 + n, dtype=torch.long)
    batches = []
    for b in range(args.batches):
        mid = ids[b * 256 : (b + 1) * 256, None]
        x = torch.cat(
            [
                torch.full_like(mid, tok.cls_token_id),
                mid,
                torch.full_like(mid, tok.sep_token_id),
            ],
            dim=1,
        )
        batches.append(x)

    def distill():
        with torch.inference_mode():
            for x in batches:
                mask = torch.ones_like(x)
                h = model(input_ids=x, attention_mask=mask).last_hidden_state
                (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    distill()  # warm-up
    t, cpu = best_of(args.repeats, distill)
    print(
        f"pytorch {torch.__version__} {args.model} distillation: {n} tokens in {t:.3f} s "
        f"= {n / t:.0f} tokens/s; {cpu:.2f} s of CPU = {n / cpu:.0f} tokens per CPU-second "
        f"({args.threads} threads)"
    )

    st = SentenceTransformer(str(path), device="cpu")
    texts = sts_sentences(args.sentences)
    st.encode(texts[:64], batch_size=64)  # warm-up
    t, cpu = best_of(args.repeats, lambda: st.encode(texts, batch_size=64))
    print(
        f"pytorch {torch.__version__} {args.model} sentences: {len(texts)} in {t:.3f} s "
        f"= {len(texts) / t:.1f} sentences/s; {cpu:.2f} s of CPU ({args.threads} threads)"
    )


if __name__ == "__main__":
    main()
