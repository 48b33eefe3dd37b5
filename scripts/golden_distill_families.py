#!/usr/bin/env python3
"""Python model2vec 0.10.0 distillations of the tiny teacher checkpoints of other families.

Run with the project venv (`pip install "model2vec[distill]==0.10.0"
sentence-transformers`), offline, after `cargo xtask fetch` and
`scripts/golden_teacher_families.py`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_distill_families.py

The tiny checkpoints (`crates/m2v-teacher/tests/fixtures/families/<name>/`) have a
1000-token vocabulary. For the families whose tokenizer m2v can load (DistilBERT: BERT's
WordPiece), this writes a matching 1000-token `tokenizer.json` cut from
all-MiniLM-L6-v2's (ids 0-103 as in BERT: [PAD], [unused0-98], [UNK], [CLS], [SEP],
[MASK]; ids 104-999: 500 characters and word pieces from ids 999 on, then 396 words
from id 1996 on) with `special_tokens_map.json` and `tokenizer_config.json`, runs
`model2vec.distill.distill(model_name=<folder>, pca_dims=16)` on the checkpoint plus that
tokenizer, and writes under `crates/m2v-distill/tests/fixtures/families/<name>/`:

- the tokenizer files (the test assembles the teacher folder from them and the
  checkpoint in m2v-teacher's fixtures);
- `expected.json`: the saved `config.json`, the token list in id order, the dtype and
  shape; `rows.bin`: every embedding row as saved (float16, little-endian);
- for xlm-roberta, roberta, qwen3 and qwen3-last, `expected_tokenizer.json`: the saved `tokenizer.json`.

ModernBERT: its 50k byte-level BPE (`/work/shared/data/tokenizers/modernbert/tokenizer.json`,
or the path in `$M2V_MODERNBERT_TOKENIZER`) cut to 1000 tokens with consistent merges:
ids 0-980 of the original (`|||IP_ADDRESS|||`, `<|padding|>`, the 243 byte symbols and the
results of the first 736 merges, whose parts all lie below id 981), then the original's
vocabulary entries `"   "`, `"  "`, `|||EMAIL_ADDRESS|||`, `|||PHONE_NUMBER|||`,
`<|endoftext|>` (981-985), then its added tokens `[UNK]` `[CLS]` `[SEP]` `[PAD]` `[MASK]`
`[unused0-8]` (986-999); the added tokens keep their flags, the post-processor its
`[CLS] A [SEP]` template with the new ids ([CLS] 988, [SEP] 989, [PAD] 990, as in the
tiny checkpoint's `config.json`).

XLM-RoBERTa: the real 250k Unigram (`/work/shared/data/tokenizers/xlm-roberta/`, or the
folder in `$M2V_XLMR_TOKENIZER`) cut to its first 999 pieces with their scores (`<s>`
`<pad>` `</s>` `<unk>` at 0-3 as the checkpoint expects, then `,` `.` `▁` `s` ...) plus
`<mask>` at 999; normalizer, pre-tokenizer, post-processor and decoder as in the file,
with its real `tokenizer_config.json` (`XLMRobertaTokenizer`, which transformers 5
rebuilds: normalizer the `Precompiled` map alone, pre-tokenizer `WhitespaceSplit` +
`Metaspace`; m2v-distill's `transformers.rs` does the same).

RoBERTa: GPT-2's byte-level BPE (`/work/shared/data/tokenizers/gpt2/tokenizer.json`, or
`$M2V_GPT2_TOKENIZER`) as RoBERTa's: `<s>` `<pad>` `</s>` `<unk>` at 0-3, then GPT-2's
ids 0-995 (the 256 byte symbols and the results of its first 740 merges, which are those
merges), `RobertaProcessing`, `RobertaTokenizer` in `tokenizer_config.json`.

Qwen3: the tiny causal checkpoint of m2v-teacher's decoder fixtures
(`crates/m2v-teacher/tests/fixtures/decoders/qwen3/`, `scripts/golden_teacher_decoders.py`)
with the real 151k byte-level BPE (`/work/shared/data/tokenizers/qwen3/`, or the folder in
`$M2V_QWEN3_TOKENIZER`) cut as the original is laid out: ids 0-973 of the original (the 256
byte symbols and the results of its first 718 merges, which are those merges), then its 26
added tokens (`<|endoftext|>` ... `</think>`, flags kept) at 974-999, which, as in the
original, are not in the BPE vocabulary. Normalizer (NFC), regex `Split` + `ByteLevel`
pre-tokenizer and decoder as in the file; its real `tokenizer_config.json`
(`Qwen2Tokenizer`, pad `<|endoftext|>`, eos `<|im_end|>`, no bos; transformers 5
rebuilds that class: `ByteLevel` pre-tokenizer with `trim_offsets`, default `ByteLevel`
decoder, as m2v-distill's `transformers.rs` does) with the `added_tokens_decoder` ids moved, and no `special_tokens_map.json` (the hub repos have
none). The checkpoint's own `pad_token_id` 0 and `eos_token_id` 3 reach neither side.

- `qwen3`: the Qwen3 LLM tokenizer as shipped (`ByteLevel` post-processor: no bos/eos,
  every token reaches the teacher alone), default mean pooling.
- `qwen3-last`: Qwen3-Embedding's setup: `pooling="last"` and a post-processor that
  appends `<|endoftext|>` (`TemplateProcessing` `$A <|endoftext|>`, which Qwen3-Embedding's
  `tokenizer.json` got so the last position is the end token: QwenLM/Qwen3-Embedding#54,
  #122), so each token reaches the teacher as `[id, 974]` and its row is the hidden state
  at `<|endoftext|>`. (With the plain `ByteLevel` post-processor, `last` of a one-token
  input is its mean: the same rows as `qwen3`.)

Families can be named on the command line to regenerate only those (all by default).
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from huggingface_hub import snapshot_download
from model2vec.distill import distill
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
TEACHERS = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "families"
DECODERS = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "decoders"
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "families"


def bert_tokenizer_1000() -> dict:
    src = Path(snapshot_download("sentence-transformers/all-MiniLM-L6-v2")) / "tokenizer.json"
    tok = json.loads(src.read_text())
    by_id = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in by_id]
    new = tokens[:104] + tokens[999 : 999 + 500] + tokens[1996 : 1996 + 396]
    assert len(new) == 1000 and len(set(new)) == 1000
    tok["model"]["vocab"] = {t: i for i, t in enumerate(new)}
    tok["truncation"] = None
    tok["padding"] = None
    return tok


MODERNBERT_TOKENIZER = Path(
    os.environ.get("M2V_MODERNBERT_TOKENIZER", "/work/shared/data/tokenizers/modernbert/tokenizer.json")
)


def modernbert_tokenizer_1000() -> dict:
    tok = json.loads(MODERNBERT_TOKENIZER.read_text())
    vocab = tok["model"]["vocab"]
    by_id = {i: t for t, i in vocab.items()}
    kept = [by_id[i] for i in range(981)]
    kept += ["   ", "  ", "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "<|endoftext|>"]
    assert all(t in vocab for t in kept)
    added = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"] + [f"[unused{i}]" for i in range(9)]
    new_vocab = {t: i for i, t in enumerate(kept)}
    merges = []
    for m in tok["model"]["merges"]:
        parts = m.split(" ") if isinstance(m, str) else m
        if all(p in new_vocab for p in parts) and "".join(parts) in new_vocab:
            merges.append(m)
    assert len(merges) == 736, len(merges)
    new_id = dict(new_vocab)
    for i, t in enumerate(added):
        new_id[t] = len(kept) + i
    assert len(new_id) == 1000
    old_added = {a["content"]: a for a in tok["added_tokens"]}
    tok["added_tokens"] = [
        {**old_added[t], "id": new_id[t]}
        for t in sorted(old_added, key=lambda t: old_added[t]["id"])
        if t in new_id
    ]
    for spec in tok["post_processor"]["special_tokens"].values():
        spec["ids"] = [new_id[t] for t in spec["tokens"]]
    tok["model"]["vocab"] = new_vocab
    tok["model"]["merges"] = merges
    return tok


XLMR_TOKENIZER = Path(os.environ.get("M2V_XLMR_TOKENIZER", "/work/shared/data/tokenizers/xlm-roberta"))
GPT2_TOKENIZER = Path(os.environ.get("M2V_GPT2_TOKENIZER", "/work/shared/data/tokenizers/gpt2/tokenizer.json"))
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def xlm_roberta_tokenizer_1000() -> tuple[dict, dict]:
    tok = json.loads((XLMR_TOKENIZER / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    assert [t for t, _ in vocab[:4]] == ROBERTA_SPECIALS and vocab[-1][0] == "<mask>"
    tok["model"]["vocab"] = vocab[:999] + [vocab[-1]]
    for a in tok["added_tokens"]:
        if a["content"] == "<mask>":
            a["id"] = 999
    config = json.loads((XLMR_TOKENIZER / "tokenizer_config.json").read_text())
    return tok, config


def roberta_tokenizer_1000() -> tuple[dict, dict]:
    tok = json.loads(GPT2_TOKENIZER.read_text())
    by_id = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    kept = ROBERTA_SPECIALS + [t for t, _ in by_id[:996]]
    vocab = {t: i for i, t in enumerate(kept)}
    merges = tok["model"]["merges"][:740]
    for m in merges:
        left, right = m.split(" ") if isinstance(m, str) else m
        assert left in vocab and right in vocab and left + right in vocab, m
    tok["model"] = {"type": "BPE", **tok["model"], "vocab": vocab, "merges": merges}
    tok["added_tokens"] = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, t in enumerate(ROBERTA_SPECIALS)
    ]
    tok["post_processor"] = {
        "type": "RobertaProcessing",
        "sep": ["</s>", 2],
        "cls": ["<s>", 0],
        "trim_offsets": True,
        "add_prefix_space": False,
    }
    config = {
        "tokenizer_class": "RobertaTokenizer",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    return tok, config


QWEN3_TOKENIZER = Path(os.environ.get("M2V_QWEN3_TOKENIZER", "/work/shared/data/tokenizers/qwen3"))


def qwen3_tokenizer_1000(append_eos: bool) -> tuple[dict, dict]:
    tok = json.loads((QWEN3_TOKENIZER / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    by_id = {i: t for t, i in vocab.items()}
    added = sorted(tok["added_tokens"], key=lambda a: a["id"])
    assert [a["id"] for a in added] == list(range(len(vocab), len(vocab) + len(added)))
    kept = [by_id[i] for i in range(1000 - len(added))]
    new_vocab = {t: i for i, t in enumerate(kept)}
    merges = tok["model"]["merges"][: len(kept) - 256]
    for k, m in enumerate(merges):
        left, right = m.split(" ") if isinstance(m, str) else m
        assert left in new_vocab and right in new_vocab and new_vocab[left + right] == 256 + k, m
    new_id = {a["id"]: len(kept) + k for k, a in enumerate(added)}
    tok["model"]["vocab"] = new_vocab
    tok["model"]["merges"] = merges
    tok["added_tokens"] = [{**a, "id": new_id[a["id"]]} for a in added]
    if append_eos:
        eot = {"id": "<|endoftext|>", "type_id": 0}
        tok["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": eot}],
            "pair": [
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": eot},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {**eot, "type_id": 1}},
            ],
            "special_tokens": {
                "<|endoftext|>": {"id": "<|endoftext|>", "ids": [len(kept)], "tokens": ["<|endoftext|>"]}
            },
        }
    config = json.loads((QWEN3_TOKENIZER / "tokenizer_config.json").read_text())
    config["added_tokens_decoder"] = {
        str(new_id[int(i)]): a for i, a in config["added_tokens_decoder"].items()
    }
    return tok, config


def write_tokenizer(name: str, out: Path) -> None:
    if name.startswith("qwen3"):
        tok, config = qwen3_tokenizer_1000(append_eos=name == "qwen3-last")
        (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
        (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
        return
    specials = {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }
    if name in ("xlm-roberta", "roberta"):
        tok, config = xlm_roberta_tokenizer_1000() if name == "xlm-roberta" else roberta_tokenizer_1000()
        specials = {k: v for k, v in config.items() if k.endswith("_token")}
    elif name == "distilbert":
        tok = bert_tokenizer_1000()
        config = {"tokenizer_class": "DistilBertTokenizer", "do_lower_case": True, **specials}
    else:
        tok = modernbert_tokenizer_1000()
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "clean_up_tokenization_spaces": True,
            "model_input_names": ["input_ids", "attention_mask"],
            "model_max_length": 64,
            **specials,
        }
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


FAMILIES = ["distilbert", "modernbert", "xlm-roberta", "roberta", "qwen3", "qwen3-last"]
# Options of the distillation beyond `pca_dims=16`, by family.
EXTRA = {"qwen3-last": {"pooling": "last"}}


def main() -> None:
    only = sys.argv[1:]
    unknown = [n for n in only if n not in FAMILIES]
    if unknown:
        sys.exit(f"unknown families {unknown}; known: {FAMILIES}")
    for name in FAMILIES:
        if not only or name in only:
            distill_family(name)


def distill_family(name: str) -> None:
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    ckpt = DECODERS / "qwen3" if name.startswith("qwen3") else TEACHERS / name
    write_tokenizer(name, out)
    extra = EXTRA.get(name, {})
    with tempfile.TemporaryDirectory() as tmp:
        teacher = Path(tmp) / "teacher"
        teacher.mkdir()
        for f in ["config.json", "model.safetensors"]:
            shutil.copy(ckpt / f, teacher / f)
        for f in ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]:
            if (out / f).is_file():
                shutil.copy(out / f, teacher / f)
        model = distill(model_name=str(teacher), pca_dims=16, device="cpu", **extra)
        saved = Path(tmp) / "model"
        model.save_pretrained(str(saved))
        emb = load_file(str(saved / "model.safetensors"))["embeddings"]
        config = json.loads((saved / "config.json").read_text())
        saved_tok = json.loads((saved / "tokenizer.json").read_text())
        if name in ("xlm-roberta", "roberta", "qwen3", "qwen3-last"):
            # The distilled tokenizer.json, compared whole by families.rs.
            shutil.copy(saved / "tokenizer.json", out / "expected_tokenizer.json")
    vocab = saved_tok["model"]["vocab"]
    # A dict of ids, or Unigram's list of [piece, score] in id order.
    vocab = sorted(vocab.items(), key=lambda kv: kv[1]) if isinstance(vocab, dict) else vocab
    config["tokenizer_name"] = "<teacher>"
    (out / "rows.bin").write_bytes(np.ascontiguousarray(emb).astype("<f2").tobytes())
    (out / "expected.json").write_text(
        json.dumps(
            {
                "generator": "scripts/golden_distill_families.py (model2vec 0.10.0)",
                "options": {"pca_dims": 16, **extra},
                "config": config,
                "tokens": [t for t, _ in vocab],
                "dtype": str(emb.dtype),
                "shape": list(emb.shape),
                "tolerance": {"min_row_cosine": 0.999},
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(name, emb.shape, emb.dtype)


if __name__ == "__main__":
    main()
