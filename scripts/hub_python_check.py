"""Proves that m2v-hub and Python `huggingface_hub` share the Hugging Face cache, both ways.

Run from the repository root (needs cargo and the Python venv with huggingface_hub):
    ~/.cache/m2v/pyenv/bin/python scripts/hub_python_check.py

1. Starts m2v's local test hub (`cargo run -p m2v-hub --features test-server --example
   hub_tool -- serve ...`) serving a tiny generated repository `m2v-test/tiny`
   (regular files, an LFS `model.safetensors` that the hub redirects to storage, a file in
   a subfolder).
2. Python -> m2v: Python `hf_hub_download` (HF_ENDPOINT = the test hub) fills a fresh
   cache; that repository folder is copied (symlinks kept) to
   crates/m2v-hub/tests/fixtures/python_cache/, with manifest.json holding the sha256 of
   each file computed here with hashlib. The Rust test `python_written_cache_resolves_offline`
   resolves it without network.
3. m2v -> Python: m2v downloads the same repository into another fresh cache
   (`hub_tool download`); Python, with HF_HUB_OFFLINE=1, must find every file there with
   `hf_hub_download` and `snapshot_download`, byte-identical.
4. Uploads, both ways through the test hub: Python `HfApi.upload_folder` (HF_HUB_DISABLE_XET=1:
   preupload, LFS batch, PUT, verify, NDJSON commit) then an m2v download must give the
   same bytes (so the test hub speaks Python's upload protocol); m2v `push_folder` then a
   Python `snapshot_download` must give the same bytes.
5. Python, with HF_HUB_OFFLINE=1, resolves `sentence-transformers/all-MiniLM-L6-v2` as
   installed by `cargo xtask fetch` in the default cache.
The outcome of 3-5 is written to crates/m2v-hub/tests/fixtures/python_check.json.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "crates" / "m2v-hub" / "tests" / "fixtures"
REPO = "m2v-test/tiny"


def tiny_repo() -> dict[str, bytes]:
    weights = bytes((i * 7 + 3) % 256 for i in range(3000))
    return {
        "config.json": b'{"model_type": "model2vec", "normalize": true}\n',
        "model.safetensors": weights,
        "tokenizer.json": b'{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}\n',
        "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}\n',
        "README.md": b"# tiny\nA repository for the cache-sharing check.\n",
    }


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def cargo(*args: str) -> list[str]:
    return ["cargo", "run", "-q", "-p", "m2v-hub", "--features", "test-server", "--example", "hub_tool", "--", *args]


def run_m2v(*args: str) -> str:
    r = subprocess.run(cargo(*args), cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"hub_tool {args[0]} failed:\n{r.stderr}")
    return r.stdout.strip()


def python(code: str, env: dict[str, str]) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    full.update(env)
    full["HF_HUB_DISABLE_TELEMETRY"] = "1"
    r = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"python step failed:\n{r.stderr}")
    return r.stdout


def main() -> None:
    files = tiny_repo()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        src = tmp / "src"
        for rel, data in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
        server = subprocess.Popen(cargo("serve", REPO, str(src)), cwd=ROOT, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            endpoint = server.stdout.readline().split()[1]
            commit = server.stdout.readline().split()[2]
            print(f"test hub at {endpoint}, {REPO} main = {commit}")

            # 2. Python writes, m2v reads (fixture).
            pycache = tmp / "pycache"
            python(
                "from huggingface_hub import hf_hub_download\n"
                f"for f in {sorted(files)!r}:\n"
                f"    print(hf_hub_download({REPO!r}, f))\n",
                {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(pycache)},
            )
            dest = FIX / "python_cache"
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            shutil.copytree(pycache / "models--m2v-test--tiny", dest / "models--m2v-test--tiny", symlinks=True)
            manifest = {"repo_id": REPO, "commit": commit, "files": {k: sha256(v) for k, v in sorted(files.items())}}
            (FIX / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
            print(f"wrote {dest.relative_to(ROOT)} and manifest.json")

            # 3. m2v writes, Python reads offline.
            m2vcache = tmp / "m2vcache"
            print(f"m2v downloaded to {run_m2v('download', endpoint, str(m2vcache), REPO)}")

            # 4. Uploads both ways.
            up = tmp / "up"
            for rel, data in files.items():
                (up / rel).parent.mkdir(parents=True, exist_ok=True)
                (up / rel).write_bytes(data[::-1] + b"!")
            want = {k: sha256(v[::-1] + b"!") for k, v in files.items()}
            python(
                "from huggingface_hub import HfApi\n"
                f"api = HfApi(endpoint={endpoint!r}, token='hf_check')\n"
                "api.create_repo('py/uploaded', exist_ok=True)\n"
                f"api.upload_folder(folder_path={str(up)!r}, repo_id='py/uploaded', commit_message='python')\n",
                {"HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HUB_CACHE": str(tmp / "unused")},
            )
            snap = run_m2v("download", endpoint, str(tmp / "c1"), "py/uploaded")
            got = {str(p.relative_to(snap)): sha256(p.read_bytes()) for p in Path(snap).rglob("*") if p.is_file()}
            py_up_ok = got == want
            print(f"Python upload_folder -> m2v download: {'OK' if py_up_ok else 'MISMATCH'}")
            run_m2v("push", endpoint, "hf_check", str(up), "m2v/pushed")
            got = json.loads(python(
                "import hashlib, json, pathlib\n"
                "from huggingface_hub import snapshot_download\n"
                "s = pathlib.Path(snapshot_download('m2v/pushed'))\n"
                "print(json.dumps({str(p.relative_to(s)): hashlib.sha256(p.read_bytes()).hexdigest()"
                " for p in s.rglob('*') if p.is_file()}))\n",
                {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(tmp / "c2")},
            ))
            m2v_up_ok = got == want
            print(f"m2v push -> Python snapshot_download: {'OK' if m2v_up_ok else 'MISMATCH'}")
            result["python_upload_then_m2v_download"] = {"ok": py_up_ok}
            result["m2v_push_then_python_download"] = {"ok": m2v_up_ok}
        finally:
            server.stdin.close()
            server.wait(timeout=30)

        found = json.loads(python(
            "import hashlib, json, os\n"
            "from huggingface_hub import hf_hub_download, snapshot_download\n"
            "out = {}\n"
            f"for f in {sorted(files)!r}:\n"
            f"    p = hf_hub_download({REPO!r}, f)\n"
            "    out[f] = hashlib.sha256(open(p, 'rb').read()).hexdigest()\n"
            f"snap = snapshot_download({REPO!r})\n"
            "print(json.dumps({'files': out, 'snapshot': os.path.basename(snap)}))\n",
            {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(m2vcache)},
        ))
        ok = found["files"] == {k: sha256(v) for k, v in files.items()} and found["snapshot"] == commit
        result["python_reads_m2v_download_offline"] = {"ok": ok, "snapshot": found["snapshot"], "files": sorted(found["files"])}
        print(f"Python (HF_HUB_OFFLINE=1) found m2v's download: {'OK' if ok else 'MISMATCH'} {found}")

    # 5. The model `cargo xtask fetch` installed, seen by Python offline.
    env = {"HF_HUB_OFFLINE": "1"}
    for k in ("HF_HOME", "HF_HUB_CACHE"):
        if k in os.environ:
            env[k] = os.environ[k]
    mini = json.loads(python(
        "import json, os\n"
        "from huggingface_hub import snapshot_download\n"
        "p = snapshot_download('sentence-transformers/all-MiniLM-L6-v2')\n"
        "print(json.dumps({'path': p, 'files': sorted(os.listdir(p))}))\n",
        env,
    ))
    mini_ok = "model.safetensors" in mini["files"] and "tokenizer.json" in mini["files"]
    result["python_finds_xtask_fetch_minilm_offline"] = {"ok": mini_ok, "snapshot": os.path.basename(mini["path"]), "files": mini["files"]}
    print(f"Python (HF_HUB_OFFLINE=1) snapshot_download(all-MiniLM-L6-v2): {mini['path']}\n  {mini['files']}")
    (FIX / "python_check.json").write_text(json.dumps(result, indent=1) + "\n")
    if not (ok and mini_ok and result['python_upload_then_m2v_download']['ok'] and result['m2v_push_then_python_download']['ok']):
        raise SystemExit("cache sharing check FAILED")
    print("cache sharing check passed")


if __name__ == "__main__":
    main()
