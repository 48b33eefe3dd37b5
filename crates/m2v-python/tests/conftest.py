"""Shared fixtures: the models the parity tests compare on, and the texts.

Models come from the Hugging Face cache that ``cargo xtask fetch`` fills (no network
here); a missing one skips its tests, unless ``M2V_REQUIRE_ASSETS=1`` (CI) makes it a
failure. Our own distillations are made once per session with ``m2v-cli distill``
(``$M2V_CLI``, else the workspace's debug build).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "crates" / "m2v-static" / "tests" / "fixtures"
REQUIRE = os.environ.get("M2V_REQUIRE_ASSETS") == "1"


def _missing(what: str, hint: str = "run `cargo xtask fetch`") -> None:
    if REQUIRE:
        pytest.fail(f"{what} is missing (M2V_REQUIRE_ASSETS=1); {hint}")
    pytest.skip(f"{what} is missing; {hint}")


def cached(hub_id: str) -> str:
    """The snapshot folder of a cached hub id (resolved by m2v itself, offline)."""
    from m2v import _m2v

    try:
        path = _m2v.Model.load(hub_id).path
    except (FileNotFoundError, OSError):
        _missing(hub_id)
    assert path is not None
    return path


def texts() -> list[str]:
    """200 STS-B sentences (the rule in texts.json) and the edge cases."""
    spec = json.loads((FIXTURES / "texts.json").read_text(encoding="utf-8"))
    sts = ROOT.parent / "shared" / "data" / "stsbenchmark" / "sts-test.csv"
    real: list[str] = []
    if sts.is_file():
        kept = [
            line.split("\t")
            for line in sts.read_text(encoding="utf-8").splitlines()
            if len(line.split("\t")) >= 7
        ]
        for fields in kept[::7]:
            real.extend([fields[5], fields[6]])
            if len(real) >= spec["real_count"]:
                break
    return real[: spec["real_count"]] + list(spec["edge"])


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    return texts()


@pytest.fixture(scope="session")
def potion() -> str:
    return cached("minishlab/potion-base-8M")


@pytest.fixture(scope="session")
def tokenlearn() -> str:
    return cached("pypi/tokenlearn-static-model")


def _m2v_cli() -> str:
    env = os.environ.get("M2V_CLI")
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("debug", "release"):
        exe = target / profile / "m2v-cli"
        if exe.is_file():
            return str(exe)
    found = shutil.which("m2v-cli")
    if found:
        return found
    _missing("m2v-cli", "build it with `cargo build -p m2v-cli`, or set M2V_CLI")
    raise AssertionError


@pytest.fixture(scope="session")
def distilled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Our distillations of all-MiniLM-L6-v2 (64 PCA dims): float32 and float16."""
    teacher = "sentence-transformers/all-MiniLM-L6-v2"
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    if not (hub / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots").is_dir():
        _missing(teacher)
    cli = _m2v_cli()
    out: dict[str, str] = {}
    base = tmp_path_factory.mktemp("distilled")
    first = base / "float32"
    subprocess.run(
        [cli, "distill", "--model", teacher, "--output", str(first), "--pca-dims", "64",
         "--quantize-to", "float32", "--quiet"],
        check=True,
    )
    out["float32"] = str(first)
    # The float16 model is the same distillation stored as float16 (m2v-cli convert
    # would do the same; this saves a second teacher run).
    from m2v import StaticModel

    half = base / "float16"
    StaticModel.from_pretrained(first, quantize_to="float16").save_pretrained(half)
    out["float16"] = str(half)
    return out
