#!/usr/bin/env python3
"""PyTorch goldens for the decoder-style teachers of `m2v-teacher` (Gemma 3, Qwen 3).

Run with the project venv (`pip install "model2vec[distill]==0.10.0"
sentence-transformers`, which brings torch and transformers 5.3), offline, after
`cargo xtask fetch embeddinggemma-300m` (the real model is skipped when absent):

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_teacher_decoders.py [NAME ...]

Everything goes under `crates/m2v-teacher/tests/fixtures/decoders/<name>/`:

- `gemma3`, `gemma3-causal`, `qwen3`: tiny seeded checkpoints
  (`AutoModel.from_config`, `torch.manual_seed`, 1-D parameters perturbed so the norms
  are not trivial), saved with `save_pretrained` (`config.json` + `model.safetensors`,
  < 250 KB each). `gemma3` is EmbeddingGemma's shape in miniature: bidirectional
  attention, sliding and full layers with their own RoPE bases, GQA, `head_dim` and
  `query_pre_attn_scalar` unrelated to `hidden_size`, and a sliding window shorter
  than the longest sequence. `gemma3-causal` is the same with causal attention (Gemma 3
  LLMs). `qwen3` is a causal Qwen3 with GQA and its own `head_dim`.
- `embeddinggemma-300m`: no weights (the test takes them from the HF cache); real
  texts and their ids from the model's tokenizer, one of them longer than the
  bidirectional sliding window (257 positions each way in transformers' terms), and
  per sequence the reference's own spread: the largest |diff| between `transformers`'
  eager attention and its default (sdpa), `eager_vs_sdpa_max_abs`. The same rows
  computed in float64 (sdpa) are the exact answer the fp32 reference approximates:
  `hidden_f64.bin` (the float64 values rounded to fp32 on storing, within 8e-6 of
  them at the model's largest magnitudes, about 132) and, per sequence, how far the
  fp32 reference itself is from them, `f32_vs_f64_max_abs` (3.8e-4 on the long
  sequence, whose hidden states reach 132). Plus
  `sentences.json` + `sentences.bin`: `SentenceTransformer.encode` of two texts
  (the whole pipeline: mean pooling, two `Dense`, `Normalize`), without a prompt and
  with the `query` prompt.

For each, `hidden.json` (the id sequences, the stored row positions, the tolerance)
and `hidden.bin` (`last_hidden_state`, fp32 little-endian, `hidden_size` per row):
all sequences run as ONE right-padded batch with its attention mask, as
sentence-transformers and model2vec run them; only real rows are stored, and for the
real model only a subset of the long sequence's rows (`positions`), to keep the file
under 1 MB. `qwen3` also stores `last.bin`: model2vec 0.10's `PoolingMode.LAST`
(`_encode_last_with_model`) on the same padded batch.

About `sliding_window` with `use_bidirectional_attention`: `Gemma3TextConfig`
replaces it by `sliding_window // 2 + 1` when it is constructed, so a config saved by
`save_pretrained` would be halved again on reload. The hub value (512 for
EmbeddingGemma) is what `config.json` must hold; the script rewrites it after saving
and checks that the reloaded model has the halved value. The goldens come from the
model reloaded from the fixture folder, so they are what `from_pretrained` of that
folder computes.
"""

import json
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoConfig, AutoModel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "decoders"
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
TOLERANCE = {"min_cosine": 0.99999, "max_abs": 1e-4}

GEMMA3 = dict(
    model_type="gemma3_text",
    vocab_size=1000,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=12,
    query_pre_attn_scalar=10,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    # The hub value; transformers uses 8 // 2 + 1 = 5 (|q - k| < 5) when bidirectional.
    sliding_window=8,
    layer_types=["sliding_attention", "full_attention", "sliding_attention"],
    rope_theta=10000.0,
    rope_local_base_freq=100.0,
    use_bidirectional_attention=True,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=1,
    hidden_activation="gelu_pytorch_tanh",
)

QWEN3 = dict(
    model_type="qwen3",
    vocab_size=1000,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    rope_theta=1000.0,
    hidden_act="silu",
    tie_word_embeddings=False,
    pad_token_id=0,
    bos_token_id=None,
    eos_token_id=3,
)


def write_f32(path: Path, values: list[float]) -> None:
    path.write_bytes(struct.pack(f"<{len(values)}f", *values))


def padded(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), longest), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def run(model, seqs: list[list[int]], pad: int) -> torch.Tensor:
    ids, mask = padded(seqs, pad)
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).last_hidden_state


def store(d: Path, seqs, hidden: torch.Tensor, positions, extra: dict) -> None:
    rows = []
    for i, s in enumerate(seqs):
        for t in positions[i]:
            rows.extend(hidden[i, t].reshape(-1).tolist())
    write_f32(d / "hidden.bin", rows)
    meta = {
        "generator": "scripts/golden_teacher_decoders.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "hidden_size": hidden.shape[-1],
        "sequences": seqs,
        "positions": positions,
        "tolerance": TOLERANCE,
    }
    meta.update(extra)
    (d / "hidden.json").write_text(json.dumps(meta, indent=1) + "\n")


def tiny(name: str, spec: dict, seed: int) -> None:
    spec = dict(spec)
    model_type = spec.pop("model_type")
    window = spec.get("sliding_window")
    cfg = AutoConfig.for_model(model_type, **spec)
    torch.manual_seed(1234 + seed)
    model = AutoModel.from_config(cfg).eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    # Undo the halving of the bidirectional window (see the module doc).
    cfg_path = d / "config.json"
    saved = json.loads(cfg_path.read_text())
    if window is not None and "sliding_window" in saved:
        saved["sliding_window"] = window
    cfg_path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    model = AutoModel.from_pretrained(d).eval()
    if getattr(model.config, "use_bidirectional_attention", False):
        assert model.config.sliding_window == window // 2 + 1, model.config.sliding_window

    g = torch.Generator().manual_seed(99 + seed)
    pad = spec["pad_token_id"]
    seqs = []
    for length in [1, 4, 7, 12, 19]:
        body = torch.randint(4, spec["vocab_size"], (length,), generator=g).tolist()
        seqs.append([2] + body + [1])
    seqs.append([2, 1])
    hidden = run(model, seqs, pad)
    # The batch against each sequence alone: padding must not change real rows.
    for i, s in enumerate(seqs):
        alone = run(model, [s], pad)[0]
        diff = (alone - hidden[i, : len(s)]).abs().max().item()
        assert diff < 1e-5, (name, i, diff)
    positions = [list(range(len(s))) for s in seqs]
    extra = {"attn_implementation": model.config._attn_implementation}
    d_last = None
    if model_type == "qwen3":
        from model2vec.distill.inference import _encode_last_with_model

        ids, mask = padded(seqs, pad)
        with torch.no_grad():
            last = _encode_last_with_model(model, {"input_ids": ids, "attention_mask": mask})
        d_last = last.reshape(-1).tolist()
        write_f32(d / "last.bin", d_last)
        extra["last"] = "last.bin: model2vec 0.10 PoolingMode.LAST of the padded batch"
    store(d, seqs, hidden, positions, extra)
    print(name, "ok", sum(len(s) for s in seqs), "rows")


def snapshot(hub_id: str) -> Path | None:
    repo = HUB / ("models--" + hub_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if not ref.is_file():
        return None
    return repo / "snapshots" / ref.read_text().strip()


SENTENCES = [
    "task: search result | query: how do static embeddings work?",
    "A girl is styling her hair.",
    "title: none | text: Model2Vec distills a sentence transformer into a small static "
    "model by embedding every token of its vocabulary once.",
]
LONG = " ".join(
    [
        "The committee reviewed the extraordinarily long proposal again, "
        "and each reviewer wrote a separate report on its budget."
    ]
    * 14
)


def embeddinggemma() -> None:
    snap = snapshot("google/embeddinggemma-300m")
    if snap is None:
        print("embeddinggemma-300m: not in the HF cache, skipped")
        return
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(snap)
    seqs = [tok(t)["input_ids"] for t in SENTENCES + [LONG]]
    model = AutoModel.from_pretrained(snap, dtype=torch.float32).eval()
    window = model.config.sliding_window
    assert len(seqs[-1]) > window + 8, (len(seqs[-1]), window)
    pad = model.config.pad_token_id
    hidden = run(model, seqs, pad)
    # The reference's own noise: eager attention against the default (sdpa).
    eager = AutoModel.from_pretrained(snap, dtype=torch.float32, attn_implementation="eager").eval()
    spread = (run(eager, seqs, pad) - hidden).abs()
    noise = [spread[i, : len(s)].max().item() for i, s in enumerate(seqs)]
    # The exact answer, up to float64 rounding, and the fp32 reference's distance to it.
    exact = run(AutoModel.from_pretrained(snap, dtype=torch.float64).eval(), seqs, pad)
    f32_error = (hidden.double() - exact).abs()
    f32_vs_f64 = [f32_error[i, : len(s)].max().item() for i, s in enumerate(seqs)]
    n = len(seqs[-1])
    # The long sequence: its first and last rows, every 16th, and the rows around the
    # window's edge (rows there see a different set of keys in sliding layers).
    long_pos = sorted(
        set(range(6)) | set(range(0, n, 16)) | set(range(window - 3, window + 3)) | set(range(n - 6, n))
    )
    positions = [list(range(len(s))) for s in seqs[:-1]] + [long_pos]
    (OUT / "embeddinggemma-300m").mkdir(parents=True, exist_ok=True)
    store(
        OUT / "embeddinggemma-300m",
        seqs,
        hidden,
        positions,
        {
            "hub_id": "google/embeddinggemma-300m",
            "snapshot": snap.name,
            "attn_implementation": model.config._attn_implementation,
            "effective_sliding_window": window,
            "eager_vs_sdpa_max_abs": noise,
            "f32_vs_f64_max_abs": f32_vs_f64,
            "texts": SENTENCES + [LONG],
        },
    )
    rows = [v for i, p in enumerate(positions) for t in p for v in exact[i, t].tolist()]
    write_f32(OUT / "embeddinggemma-300m" / "hidden_f64.bin", rows)
    print("embeddinggemma-300m ok", [len(s) for s in seqs], "eager vs sdpa max |diff|", noise)
    print("  fp32 reference vs float64 max |diff|", f32_vs_f64)

    # The whole sentence-transformers pipeline (mean pooling, two Dense, Normalize),
    # without a prompt and with the `query` prompt.
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(snap), device="cpu")
    texts = SENTENCES[1:]
    rows = []
    for prompt in [None, "query"]:
        emb = st.encode(texts, prompt_name=prompt, convert_to_numpy=True, batch_size=8)
        rows.extend(emb.astype("float32").reshape(-1).tolist())
    write_f32(OUT / "embeddinggemma-300m" / "sentences.bin", rows)
    (OUT / "embeddinggemma-300m" / "sentences.json").write_text(
        json.dumps(
            {
                "generator": "scripts/golden_teacher_decoders.py",
                "what": "SentenceTransformer.encode(texts) then encode(texts, prompt_name='query')",
                "texts": texts,
                "prompts": [None, "query"],
                "dim": int(emb.shape[1]),
                "tolerance": TOLERANCE,
            },
            indent=1,
        )
        + "\n"
    )
    print("embeddinggemma-300m sentences ok", emb.shape)


def main() -> None:
    # `golden_teacher_decoders.py embeddinggemma-300m` rewrites that fixture only.
    only = set(sys.argv[1:])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, spec, seed in [
        ("gemma3", GEMMA3, 0),
        ("gemma3-causal", dict(GEMMA3, use_bidirectional_attention=False), 1),
        ("qwen3", QWEN3, 2),
    ]:
        if not only or name in only:
            tiny(name, spec, seed)
    if not only or "embeddinggemma-300m" in only:
        embeddinggemma()


if __name__ == "__main__":
    main()
