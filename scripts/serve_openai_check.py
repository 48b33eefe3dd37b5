"""The official OpenAI Python client against `m2v-cli serve`, compared with Python
model2vec 0.10 on the same model (docs/serve.md):

    m2v-cli serve --model potion-base-8M=PATH --port 8090 &
    HF_HUB_OFFLINE=1 ~/.cache/m2v/pyenv/bin/python scripts/serve_openai_check.py \
        --url http://127.0.0.1:8090 --model PATH

The client asks for base64 by default (and decodes it with numpy); floats and base64
are asked for explicitly too. Both must equal model2vec's `encode` bit for bit (f32 model).
"""

import argparse
import base64
import sys

import numpy as np
from model2vec import StaticModel
from openai import OpenAI

TEXTS = [
    "A girl is styling her hair.",
    "The stock market fell sharply today.",
    "Ünïcödé words, numbers 12345 and punctuation!?",
    "",
    "the quick brown fox jumps over the lazy dog " * 100,
]

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--name", default="potion-base-8M")
a = ap.parse_args()

want = StaticModel.from_pretrained(a.model).encode(TEXTS)
client = OpenAI(base_url=a.url + "/v1", api_key="none")
failures = 0
for fmt in [None, "float", "base64"]:
    kw = {} if fmt is None else {"encoding_format": fmt}
    r = client.embeddings.create(model=a.name, input=TEXTS, **kw)
    if fmt == "base64":
        # Asked for explicitly, the client hands the strings over as they came.
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in r.data])
    else:
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
    same = np.array_equal(got, want)
    print(f"encoding_format={fmt or 'client default'}: {len(r.data)} rows, "
          f"usage {r.usage.prompt_tokens} tokens, identical to model2vec: {same}, "
          f"max abs diff {np.abs(got - want).max():.3g}")
    failures += not same
one = client.embeddings.create(model=a.name, input=TEXTS[0], dimensions=64)
v = np.array(one.data[0].embedding, dtype=np.float32)
cut = want[0][:64] / np.linalg.norm(want[0][:64])
print(f"dimensions=64: {len(v)} values, norm {np.linalg.norm(v):.6f}, "
      f"max abs diff to model2vec cut+renormalized {np.abs(v - cut).max():.3g}")
failures += len(v) != 64 or np.abs(v - cut).max() > 1e-6
models = [m.id for m in client.models.list()]
print("models:", models)
failures += a.name not in models
sys.exit(1 if failures else 0)
