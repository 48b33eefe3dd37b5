#!/usr/bin/env python3
"""PyTorch's matmul rate at the shapes `crates/m2v-teacher/examples/cpu_ceiling.rs`
times with the `gemm` crate: `torch.nn.functional.linear(x, W, b)` with `x` `[m, k]`
and `W` `[n, k]`, on 1 thread and on `--threads`, best of 3 runs of 40 calls after a
warm-up. docs/teacher-speed.md puts the two side by side.

    ~/.cache/m2v/pyenv/bin/python scripts/matmul_rate.py [--threads 2]
"""

import argparse
import time

import torch

SHAPES = [(768, 768, 768), (768, 768, 1152), (768, 1152, 768), (768, 768, 3072), (768, 3072, 768)]


def rate(m: int, k: int, n: int) -> float:
    x = torch.rand(m, k)
    w = torch.rand(n, k)
    b = torch.rand(n)
    for _ in range(5):
        torch.nn.functional.linear(x, w, b)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(40):
            torch.nn.functional.linear(x, w, b)
        best = min(best, time.perf_counter() - start)
    return 40 * 2 * m * k * n / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    with torch.inference_mode():
        for m, k, n in SHAPES:
            rates = []
            for threads in (1, args.threads):
                torch.set_num_threads(threads)
                rates.append(rate(m, k, n))
            print(
                f"torch linear {m}x{k} @ {k}x{n}: {rates[0]:.0f} GFLOP/s on 1 thread, "
                f"{rates[1]:.0f} on {args.threads}"
            )


if __name__ == "__main__":
    main()
