#!/usr/bin/env python3
"""Python model2vec 0.10.0 distillations with a custom vocabulary, on BPE and Unigram tokenizers.

Run with the project venv (`pip install "model2vec[distill]==0.10.0"
sentence-transformers`), offline, after `scripts/golden_teacher_families.py`:

    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/golden_custom_vocab.py

It trains three small tokenizers (vocabulary 1000, specials `<s> <pad> </s> <unk>` at
ids 0-3 as the tiny teacher checkpoints expect) with HF `tokenizers` on the first 3000
lines of `../shared/data/corpus/english-653k.txt`:

- `bytelevel`: GPT-2/RoBERTa style byte-level BPE (`ByteLevel` pre-tokenizer without a
  prefix space, RoBERTa post-processor), with the `roberta` checkpoint;
- `metaspace`: Llama 2/Mistral style BPE with byte fallback (`<0x00>`..`<0xFF>`),
  `fuse_unk`, a `Metaspace(prepend_scheme="first", split=false)` pre-tokenizer (trained
  with `split=true`, as sentencepiece trains on words) and a `<s> $A` template, with the
  `xlm-roberta` checkpoint;
- `unigram`: XLM-R/T5 style Unigram (NFKC, `Metaspace(prepend_scheme="always")`,
  `<s> $A </s>`), with the `xlm-roberta` checkpoint.

Each of these teacher folders says `tokenizer_class: PreTrainedTokenizerFast`, so
`transformers` hands the `tokenizer.json` to model2vec unchanged. A fourth case,
`xlm-roberta`, takes the real XLM-R tokenizer cut to 1000 pieces with its real
`tokenizer_config.json` (`XLMRobertaTokenizer`, whose pipeline transformers 5 rebuilds)
from `crates/m2v-distill/tests/fixtures/families/xlm-roberta/`
(`scripts/golden_distill_families.py`), with the `xlm-roberta` checkpoint. Cases can be
named on the command line to regenerate only those (all by default; the Unigram trainer
is not deterministic, so regenerating `unigram` changes its files). It runs `model2vec.distill.distill(model_name=<folder>, vocabulary=WORDS,
pca_dims=16)` and writes under `crates/m2v-distill/tests/fixtures/vocab/`:

- `vocabulary.txt`: `WORDS`, one per line (the words have no newlines);
- `<name>/tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`: the
  teacher's tokenizer files (the test assembles the teacher folder from them and the
  checkpoint in m2v-teacher's fixtures);
- `<name>/expected_tokenizer.json`: the distilled model's `tokenizer.json` as saved;
- `<name>/expected.json`: the saved `config.json`, the token list in id order, the teacher
  input ids of every token (`turn_tokens_into_ids`, as ids of the teacher's
  `tokenizer.json`), the dtype and shape;
  `<name>/rows.bin`: every embedding row as saved (float16, little-endian).
"""

import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from model2vec.distill import distill
from model2vec.tokenizer import turn_tokens_into_ids
from safetensors.numpy import load_file
from skeletoken import TokenizerModel
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "english-653k.txt"
TEACHERS = ROOT / "crates" / "m2v-teacher" / "tests" / "fixtures" / "families"
OUT = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "vocab"

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]

# Most frequent first, as the reference assumes. Words already in the vocabulary, new
# words, duplicates (exact and after preprocessing), empty and blank words, words the
# pre-tokenizers split (multi-word added tokens), leading/trailing spaces, non-ASCII
# (some characters missing from the byte-fallback BPE's alphabet), a special token.
WORDS = [
    "the",
    "and",
    "of",
    "distillation",
    "zebra",
    "Tokenizer",
    "tokenizer",
    "zebra",
    "",
    "   ",
    "New York",
    "state-of-the-art",
    "don't",
    "naïve",
    "café",
    "東京",
    "🙂",
    "2024",
    "supercalifragilisticexpialidocious",
    " leading",
    "trailing ",
    "aaaaaaaa",
    "x",
    "Zürich",
    "<s>",
    "hello world",
    "hello  world",
    "well-known",
    "e-mail",
    "the end",
]


def corpus_lines() -> list[str]:
    with CORPUS.open(encoding="utf-8") as f:
        return [line.rstrip("\n") for line in itertools.islice(f, 3000)]


def bytelevel(lines: list[str]) -> Tokenizer:
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(
        vocab_size=1000,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    t.train_from_iterator(lines, tr)
    t.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    return t


def metaspace(lines: list[str]) -> Tokenizer:
    # Trained without the byte tokens, which then go in at ids 4-259 as ordinary
    # vocabulary entries (as in Llama 2's file: only the specials are added tokens).
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tr = trainers.BpeTrainer(vocab_size=1000 - 256, special_tokens=SPECIALS, limit_alphabet=100, show_progress=False)
    t.train_from_iterator(lines, tr)
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    t.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 0)]
    )
    data = json.loads(t.to_str())
    trained = [tok for tok, _ in sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1])]
    assert trained[:4] == SPECIALS
    vocab = SPECIALS + [f"<0x{i:02X}>" for i in range(256)] + trained[4:]
    data["model"]["vocab"] = {tok: i for i, tok in enumerate(vocab)}
    return Tokenizer.from_str(json.dumps(data))


def unigram(lines: list[str]) -> Tokenizer:
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.NFKC()
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tr = trainers.UnigramTrainer(vocab_size=1000, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False)
    t.train_from_iterator(lines, tr)
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return t


CASES = {
    "bytelevel": (bytelevel, "roberta"),
    "metaspace": (metaspace, "xlm-roberta"),
    "unigram": (unigram, "xlm-roberta"),
    # Trained by nobody: the real XLM-R tokenizer cut by golden_distill_families.py.
    "xlm-roberta": (None, "xlm-roberta"),
}
FAMILIES = ROOT / "crates" / "m2v-distill" / "tests" / "fixtures" / "families"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    assert all("\n" not in w for w in WORDS)
    (OUT / "vocabulary.txt").write_text("".join(w + "\n" for w in WORDS), encoding="utf-8")
    lines = corpus_lines()
    only = sys.argv[1:]
    unknown = [n for n in only if n not in CASES]
    if unknown:
        sys.exit(f"unknown cases {unknown}; known: {list(CASES)}")
    for name, (train, checkpoint) in CASES.items():
        if only and name not in only:
            continue
        out = OUT / name
        out.mkdir(parents=True, exist_ok=True)
        if train is None:
            for f in ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]:
                shutil.copy(FAMILIES / name / f, out / f)
        else:
            tok = train(lines)
            assert tok.get_vocab_size() == 1000, tok.get_vocab_size()
            assert [tok.id_to_token(i) for i in range(4)] == SPECIALS
            tok.save(str(out / "tokenizer.json"))
            specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
            (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")
            (out / "tokenizer_config.json").write_text(
                json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 64, **specials}, indent=2)
                + "\n"
            )
        with tempfile.TemporaryDirectory() as tmp:
            teacher = Path(tmp) / "teacher"
            teacher.mkdir()
            for f in ["config.json", "model.safetensors"]:
                shutil.copy(TEACHERS / checkpoint / f, teacher / f)
            for f in ["tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"]:
                shutil.copy(out / f, teacher / f)
            model = distill(model_name=str(teacher), vocabulary=WORDS, pca_dims=16, device="cpu")
            saved = Path(tmp) / "model"
            model.save_pretrained(str(saved))
            emb = load_file(str(saved / "model.safetensors"))["embeddings"]
            config = json.loads((saved / "config.json").read_text())
            tok_bytes = (saved / "tokenizer.json").read_bytes()
            # The teacher inputs, as distill_from_model builds them.
            original = TokenizerModel.from_transformers_tokenizer(AutoTokenizer.from_pretrained(str(teacher)))
            original = original.prune_added_tokens()
        saved_tok = json.loads(tok_bytes)
        (out / "expected_tokenizer.json").write_bytes(tok_bytes)
        vocab = saved_tok["model"]["vocab"]
        if isinstance(vocab, dict):
            tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        else:
            tokens = [t for t, _ in vocab]
        # The reference feeds ids of the pruned teacher tokenizer to an embedding table
        # remapped the same way (`reshape_embeddings`); stored as ids of the teacher's
        # tokenizer.json (the same rows), which is what m2v feeds its unchanged teacher.
        pruned = {i: t for t, i in original.vocabulary.items()}
        file_vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
        if isinstance(file_vocab, list):
            file_vocab = {t: i for i, (t, _) in enumerate(file_vocab)}
        inputs = [[file_vocab[pruned[i]] for i in ids] for ids in turn_tokens_into_ids(tokens, original)]
        config["tokenizer_name"] = "<teacher>"
        (out / "rows.bin").write_bytes(np.ascontiguousarray(emb).astype("<f2").tobytes())
        (out / "expected.json").write_text(
            json.dumps(
                {
                    "generator": "scripts/golden_custom_vocab.py (model2vec 0.10.0)",
                    "checkpoint": checkpoint,
                    "options": {"pca_dims": 16, "vocabulary": "../vocabulary.txt"},
                    "config": config,
                    "tokens": tokens,
                    "teacher_inputs": inputs,
                    "dtype": str(emb.dtype),
                    "shape": list(emb.shape),
                    "tolerance": {"min_row_cosine": 0.999},
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n"
        )
        print(name, emb.shape, emb.dtype, "new tokens:", tokens[1000 - 8 :])


if __name__ == "__main__":
    main()
