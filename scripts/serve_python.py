"""The Python baseline for docs/serve.md: model2vec 0.10 behind FastAPI/uvicorn, the
wrapper people write today. Same route and answer shape as `m2v-cli serve`'s OpenAI
endpoint (floats), no usage counting, no limits.

    M2V_MODEL=PATH uvicorn serve_python:app --app-dir scripts --port 8001 \
        --workers 1 --no-access-log --log-level warning
"""

import os
from typing import List, Optional, Union

from fastapi import FastAPI
from model2vec import StaticModel
from pydantic import BaseModel

MODEL = StaticModel.from_pretrained(os.environ["M2V_MODEL"])
NAME = os.environ.get("M2V_MODEL_NAME", "potion-base-8M")
app = FastAPI()


class EmbeddingsRequest(BaseModel):
    input: Union[str, List[str]]
    model: Optional[str] = None


@app.post("/v1/embeddings")
def embeddings(req: EmbeddingsRequest):
    texts = [req.input] if isinstance(req.input, str) else req.input
    vectors = MODEL.encode(texts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ],
        "model": NAME,
    }
