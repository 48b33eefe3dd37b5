"""Python model2vec 0.10 as a peer of `cargo xtask bench` (called by m2v-bench).

The Rust bench decides what to run; this script only embeds and times:
  --texts FILE --emb-out FILE   embed the JSON list of texts with StaticModel.encode
                                (default arguments) and write the rows as raw
                                little-endian f32 (rows x dim); m2v-bench scores them
                                with the same metrics as its own models.
  --corpus FILE                 time encoding of the JSON list of texts in batches of
                                --batch, in passes over the list until at least one
                                pass and --min-seconds are done or --speed-seconds have
                                passed, after one untimed warm-up batch of 256 texts
                                (the same rule as m2v-bench's `measure_speed`).
  --mode single|all             `single` passes use_multiprocessing=False (the caller
                                also sets TOKENIZERS_PARALLELISM=false and
                                RAYON_NUM_THREADS=1); `all` uses encode's defaults
                                (multiprocessing above 10 000 texts, parallel tokenizer).
  --teacher                     the model is a sentence-transformers teacher: time
                                PyTorch (`SentenceTransformer.encode`, batch_size 64,
                                which sorts each call by length) on the corpus by the
                                same rule, in calls of --batch texts; `single` sets
                                torch to one thread, `all` leaves torch's default (one
                                per core). Speed only: no --texts.
Writes a JSON summary to --result. Run with HF_HUB_OFFLINE=1 and a local --model folder.
"""

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts")
    ap.add_argument("--emb-out")
    ap.add_argument("--corpus")
    ap.add_argument("--speed-seconds", type=float, default=30.0)
    ap.add_argument("--min-seconds", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--mode", choices=["single", "all"], default="all")
    ap.add_argument("--result", required=True)
    ap.add_argument("--teacher", action="store_true")
    a = ap.parse_args()
    if a.teacher:
        return teacher(a)

    import model2vec
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(a.model)
    out = {
        "model2vec": model2vec.__version__,
        "dim": int(model.dim),
        # Embedding matrix plus per-token weights, as m2v-bench counts them.
        "params": int(np.prod(model.embedding.shape))
        + (0 if model.weights is None else int(np.prod(model.weights.shape))),
    }
    multi = a.mode == "all"
    if a.texts:
        with open(a.texts, encoding="utf-8") as f:
            texts = json.load(f)
        t = time.perf_counter()
        emb = model.encode(texts, use_multiprocessing=multi)
        out["embed_seconds"] = time.perf_counter() - t
        np.ascontiguousarray(emb, dtype="<f4").tofile(a.emb_out)
        out["rows"] = int(emb.shape[0])
    if a.corpus:
        with open(a.corpus, encoding="utf-8") as f:
            corpus = json.load(f)
        out["speed"] = time_corpus(lambda t: model.encode(t, use_multiprocessing=multi), corpus, a)
    with open(a.result, "w", encoding="utf-8") as f:
        json.dump(out, f)


def time_corpus(encode, corpus: list, a) -> dict:
    """Times `encode` on `corpus` in calls of `--batch` texts, in passes until at least
    one pass and `--min-seconds` are done or `--speed-seconds` have passed, after one
    untimed warm-up call of 256 texts (m2v-bench's `measure_speed` rule)."""
    encode(corpus[:256])
    done = 0
    start = time.perf_counter()
    i = 0
    while corpus:
        chunk = corpus[i : i + a.batch]
        encode(chunk)
        done += len(chunk)
        i = i + a.batch if i + a.batch < len(corpus) else 0
        el = time.perf_counter() - start
        if el >= a.speed_seconds or (done >= len(corpus) and el >= a.min_seconds):
            break
    secs = time.perf_counter() - start
    return {"texts": done, "seconds": secs, "texts_per_s": done / max(secs, 1e-9)}


def teacher(a) -> None:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    if a.mode == "single":
        torch.set_num_threads(1)
    st = SentenceTransformer(a.model, device="cpu")
    out = {
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "dim": int(st.get_sentence_embedding_dimension()),
        "params": int(sum(p.numel() for p in st.parameters())),
    }
    with open(a.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    with torch.inference_mode():
        out["speed"] = time_corpus(lambda t: st.encode(t, batch_size=64), corpus, a)
    with open(a.result, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
