#!/usr/bin/env python3
"""PyTorch CPU side of the teacher benchmark (`cargo bench -p m2v-benches --bench teacher`).

Measures the same two workloads as benches/benches/teacher.rs, fp32 on the CPU:

- distillation: `bos tok eos` for consecutive vocabulary ids (from 1000 on; the
  frame is what the tokenizer adds to an empty text: `[CLS] [SEP]`, `<s> </s>`,
  `<bos> <eos>`), batches of 256, `AutoModel` forward + masked mean pooling, as
  model2vec 0.10 feeds its teacher. Reported as vocabulary tokens (sequences) per
  second.
- sentences: `SentenceTransformer.encode` (the whole pipeline, Dense and Normalize
  modules included) of the first --sentences sentences of the STS-B test set (both
  columns), batch size 64. Reported as sentences per second.

Usage (offline, after `cargo xtask fetch`):

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/bench_teacher.py \
        [--model all-MiniLM-L6-v2 | google/embeddinggemma-300m] [--batches 8] \
        [--sentences 1024] [--threads N] [--repeats 3] [--json FILE]

A model name without an organisation is a sentence-transformers one.

With `--criterion DIR` (criterion's output folder, `$CARGO_TARGET_DIR/criterion`) it
also reads m2v's figures for the same workloads from the last
`cargo bench -p m2v-benches --bench teacher` and prints the ratios, with the fp32
GFLOP/s of the distillation workload on both sides (2 x the matmul weights of the
encoder layers per token; embeddings, the pooler and the 3x3 attention scores are not
counted).

Prints one line per workload with the best of `--repeats` runs: wall-clock throughput
and, because the machine is often shared, the process CPU time of that run.
"""

import argparse
import json
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


def distill_batches(bos: list, eos: list, batches: int) -> list:
    """`batches` batches of 256 sequences `bos + [id] + eos`, ids from 1000 on (the
    criterion benchmark's `distill_batch256` is the first of them)."""
    out = []
    for b in range(batches):
        mid = torch.arange(1000 + 256 * b, 1000 + 256 * (b + 1), dtype=torch.long)[:, None]
        parts = [torch.tensor([bos] * 256, dtype=torch.long)] if bos else []
        parts.append(mid)
        if eos:
            parts.append(torch.tensor([eos] * 256, dtype=torch.long))
        out.append(torch.cat(parts, dim=1))
    return out


def time_distill(model, batches: list, repeats: int) -> tuple[float, float]:
    """Best wall and CPU seconds of `AutoModel` forward + masked mean pooling over
    `batches`, after one warm-up pass."""

    def run():
        with torch.inference_mode():
            for x in batches:
                mask = torch.ones_like(x)
                h = model(input_ids=x, attention_mask=mask).last_hidden_state
                (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    run()
    return best_of(repeats, run)


def gflops_per_sequence(model, tokens: int) -> float:
    """2 x the matmul weights of the encoder layers (embeddings and pooler excluded)
    per token, times `tokens`."""
    macs = sum(
        p.numel()
        for name, p in model.named_parameters()
        if p.dim() == 2 and "embed" not in name and "pooler" not in name
    )
    return 2 * macs * tokens / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sentences", type=int, default=1024)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--criterion", help="criterion's output folder: print m2v's ratios")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    hub_id = args.model if "/" in args.model else "sentence-transformers/" + args.model
    path = snapshot(hub_id)
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path), dtype=torch.float32).eval()
    frame = tok("")["input_ids"]
    bos, eos = frame[:1], frame[1:]

    n = 256 * args.batches
    t, cpu = time_distill(model, distill_batches(bos, eos, args.batches), args.repeats)
    out = {"torch": torch.__version__, "model": hub_id, "threads": args.threads}
    out["distill_tokens_per_s"] = n / t
    print(
        f"pytorch {torch.__version__} {hub_id} distillation: {n} tokens in {t:.3f} s "
        f"= {n / t:.0f} tokens/s; {cpu:.2f} s of CPU = {n / cpu:.0f} tokens per CPU-second "
        f"({args.threads} threads)"
    )

    st = SentenceTransformer(str(path), device="cpu")
    texts = sts_sentences(args.sentences)
    st.encode(texts[:64], batch_size=64)  # warm-up
    t, cpu = best_of(args.repeats, lambda: st.encode(texts, batch_size=64))
    out["sentences_per_s"] = len(texts) / t
    print(
        f"pytorch {torch.__version__} {hub_id} sentences: {len(texts)} in {t:.3f} s "
        f"= {len(texts) / t:.1f} sentences/s; {cpu:.2f} s of CPU ({args.threads} threads)"
    )
    out["gflops_per_sequence"] = gflops_per_sequence(model, len(frame) + 1)
    if args.json:
        Path(args.json).write_text(json.dumps(out))
    if args.criterion:
        compare(out, Path(args.criterion), args.sentences)


GROUPS = {
    "sentence-transformers/all-MiniLM-L6-v2": "teacher_minilm",
    "sentence-transformers/all-mpnet-base-v2": "teacher_mpnet",
    "google/embeddinggemma-300m": "teacher_embeddinggemma",
}


def criterion_rate(folder: Path, elements: int) -> float:
    """Elements per second of the criterion benchmark in `folder`."""
    est = json.loads((folder / "new" / "estimates.json").read_text())
    # The estimate criterion prints as `time:` (the slope with linear sampling).
    ns = (est.get("slope") or est["mean"])["point_estimate"]
    return elements / (ns * 1e-9)


def compare(py: dict, root: Path, sentences: int) -> None:
    group = root / GROUPS[py["model"]]
    ours_d = criterion_rate(group / "distill_batch256", 256)
    ours_s = criterion_rate(group / f"sentences_{sentences}", sentences)
    g = py["gflops_per_sequence"]
    print(f"| {py['model']} | m2v | PyTorch {py['torch']} | ratio |")
    print("|---|---|---|---|")
    print(
        f"| distillation, tokens/s | {ours_d:,.0f} | {py['distill_tokens_per_s']:,.0f} "
        f"| {ours_d / py['distill_tokens_per_s']:.2f}x |"
    )
    print(
        f"| distillation, GFLOP/s | {ours_d * g:.0f} | {py['distill_tokens_per_s'] * g:.0f} | |"
    )
    print(
        f"| sentences/s | {ours_s:,.1f} | {py['sentences_per_s']:,.1f} "
        f"| {ours_s / py['sentences_per_s']:.2f}x |"
    )


if __name__ == "__main__":
    main()
