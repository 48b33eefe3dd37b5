"""Checks that Python `huggingface_hub` finds, offline, the models `cargo xtask fetch` installed.

Run after `cargo xtask fetch`:
    HF_HUB_OFFLINE=1 python scripts/check_hf_cache.py
It resolves every fetched hub id with `snapshot_download` (which, offline, only reads
`refs/main` and the snapshot folder, exactly as after a real hub download), checks the
sha256 of each model.safetensors against the pins in xtask/src/fetch.rs, and loads
potion-base-8M with Python model2vec when that package is installed.
"""

import hashlib
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from huggingface_hub import snapshot_download  # noqa: E402

FETCH_RS = Path(__file__).resolve().parent.parent / "xtask" / "src" / "fetch.rs"


def pins() -> dict[str, str]:
    """hub id -> expected sha256 of model.safetensors, read from xtask/src/fetch.rs."""
    text = FETCH_RS.read_text()
    found = re.findall(r'hub_id: "([^"]+)",\s*safetensors_sha256: Some\(\s*"([0-9a-f]{64})"', text)
    return dict(found)


def main() -> int:
    ok = True
    for hub_id, sha in pins().items():
        path = Path(snapshot_download(hub_id))
        got = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
        status = "ok" if got == sha else f"SHA MISMATCH {got}"
        ok &= got == sha
        print(f"{hub_id}: {path} ({status})")
    try:
        from model2vec import StaticModel
    except ImportError:
        print("model2vec not installed: skipped loading potion-base-8M")
    else:
        model = StaticModel.from_pretrained("minishlab/potion-base-8M")
        print("model2vec loaded minishlab/potion-base-8M offline:", model.encode(["hello"]).shape)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
