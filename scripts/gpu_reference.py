#!/usr/bin/env python3
"""PyTorch side of the GPU check (`scripts/gpu_check.sh`): references and timings.

Runs on the lent GPU machine (its image has torch, transformers and
sentence-transformers; nothing can be downloaded there), against the same teacher
folder the Rust side loads, so both see identical weights:

    python3 scripts/gpu_reference.py MODEL_DIR FIXTURE_DIR OUT_DIR

- `OUT_DIR/hidden.bin`: `last_hidden_state` (fp32, little-endian) of every sequence in
  `FIXTURE_DIR/hidden.json`, each run alone on the CPU, as `scripts/golden_teacher.py`
  computes the committed fixtures (the weights are upcast to fp32 first: the folder
  may hold f16 weights to fit the transfer limit).
- `OUT_DIR/sentences.bin`: `SentenceTransformer.encode` (CPU, fp32) of the texts in
  `FIXTURE_DIR/sentences.json`.
- `OUT_DIR/torch.json`: throughput of the distillation workload (`[CLS] id [SEP]` for
  every vocabulary id, batches of 256 and 1024, forward + masked mean) and of sentence
  encoding, on CUDA and on the CPU (all cores), fp32, best of 3 after a warm-up.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoTokenizer


def write_f32(path: Path, rows: np.ndarray) -> None:
    path.write_bytes(np.ascontiguousarray(rows, dtype="<f4").tobytes())


def best_of(n: int, f, sync) -> float:
    f()
    sync()
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def distill_workload(model, ids: list[int], bos: int, eos: int, device: str, batch: int):
    def run():
        with torch.no_grad():
            for i in range(0, len(ids), batch):
                chunk = ids[i : i + batch]
                x = torch.tensor([[bos, t, eos] for t in chunk], device=device)
                mask = torch.ones_like(x)
                h = model(input_ids=x, attention_mask=mask).last_hidden_state
                (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                _ = h.cpu()

    return run


def main() -> None:
    model_dir, fixture_dir, out_dir = (Path(a) for a in sys.argv[1:4])
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = json.loads((fixture_dir / "hidden.json").read_text())
    smeta = json.loads((fixture_dir / "sentences.json").read_text())

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).float().eval()
    rows = []
    with torch.no_grad():
        for s in meta["sequences"]:
            x = torch.tensor([s["ids"]])
            rows.append(model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[0].numpy())
    write_f32(out_dir / "hidden.bin", np.concatenate(rows))

    st = SentenceTransformer(str(model_dir), device="cpu").float()
    texts = smeta["texts"]
    write_f32(out_dir / "sentences.bin", st.encode(texts, batch_size=16, convert_to_numpy=True))

    report = {"torch": torch.__version__, "cpu_threads": torch.get_num_threads()}
    vocab = list(range(len(tok)))
    bos, eos = tok.cls_token_id, tok.sep_token_id
    sentences = texts * 10
    for device in ["cuda", "cpu"]:
        if device == "cuda" and not torch.cuda.is_available():
            report["cuda"] = "not available"
            continue
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        m = model.to(device)
        ids = vocab if device == "cuda" else vocab[:8192]
        rates = {
            f"distill_batch_{b}_tokens_per_s": len(ids) / best_of(3, distill_workload(m, ids, bos, eos, device, b), sync)
            for b in (256, 1024)
        }
        st_dev = st.to(device)
        s_secs = best_of(3, lambda: st_dev.encode(sentences, batch_size=64, device=device), sync)
        report[device] = {
            "distill_tokens": len(ids),
            **rates,
            "sentences": len(sentences),
            "sentences_per_s": len(sentences) / s_secs,
            "device_name": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        }
        print(device, json.dumps(report[device]), flush=True)
    (out_dir / "torch.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
