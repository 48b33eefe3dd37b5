"""Writes the seeds of the `tokenizer_load` and `tokenize` fuzz targets from the ten
shipped tokenizer.json files (../shared/data/tokenizers, or the folder given):
each file trimmed to its pipeline, its first added tokens and a small vocabulary
(the first 120 tokens plus those its first merges need), without the Precompiled
charsmap (hundreds of KiB); and for `tokenize`, a few texts for each tokenizer (the
first byte picks it, in the order of `checks::SHIPPED`).

    python3 make_seeds.py [TOKENIZERS_DIR]
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = [
    "bert-multilingual-cased", "gemma3", "gpt2", "llama2", "llama3",
    "mistral", "modernbert", "qwen3", "t5", "xlm-roberta",
]
TEXTS = [
    "Hello, world! It's 2024.",
    "  <start_of_turn>user\nhi<end_of_turn> [CLS] <s>x</s> <|endoftext|>",
    "ünïcödé 野口 𓀀 ꙮ \U0010ffff\u200b a\u0301",
]


def drop_precompiled(n):
    if not isinstance(n, dict):
        return n
    if n.get("type") == "Precompiled":
        return None
    if n.get("type") == "Sequence":
        kept = [x for x in (drop_precompiled(y) for y in n["normalizers"]) if x]
        return {"type": "Sequence", "normalizers": kept}
    return n


def trim(d):
    m = d["model"]
    d["added_tokens"] = d.get("added_tokens", [])[:8]
    d["normalizer"] = drop_precompiled(d.get("normalizer"))
    vocab = m["vocab"]
    if isinstance(vocab, list):  # Unigram
        m["vocab"] = vocab[:120]
        if m.get("unk_id") is not None and m["unk_id"] >= 120:
            m["unk_id"] = 0
        return d
    items = sorted(vocab.items(), key=lambda kv: kv[1])
    keep = dict(items[:120])
    merges = m.get("merges")
    if merges is not None:
        kept = []
        for mg in merges[:400]:
            a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
            if a in vocab and b in vocab and a + b in vocab and len(kept) < 40:
                for t in (a, b, a + b):
                    keep[t] = vocab[t]
                kept.append(mg)
        m["merges"] = kept
    for k in ("unk_token",):
        t = m.get(k)
        if t is not None and t in vocab:
            keep[t] = vocab[t]
    m["vocab"] = keep
    return d


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared/data/tokenizers")
    load = os.path.join(HERE, "seeds/tokenizer_load")
    tok = os.path.join(HERE, "seeds/tokenize")
    os.makedirs(load, exist_ok=True)
    os.makedirs(tok, exist_ok=True)
    for i, name in enumerate(SHIPPED):
        with open(os.path.join(src, name, "tokenizer.json"), encoding="utf-8") as f:
            d = json.load(f)
        with open(os.path.join(load, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(trim(d), f, ensure_ascii=False, separators=(",", ":"))
        for k, t in enumerate(TEXTS):
            with open(os.path.join(tok, f"{name}-{k}"), "wb") as f:
                f.write(bytes([i]) + t.encode("utf-8"))


main()
