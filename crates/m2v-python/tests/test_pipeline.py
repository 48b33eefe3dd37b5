"""Trained pipelines against model2vec 0.10's StaticModelPipeline.

The fixtures (crates/m2v-static/tests/fixtures/pipelines) were trained by model2vec
(`py_*`) and by `m2v-cli train` (`m2v_*`): single-label, multi-label, regression.
Tolerance: probabilities within 1e-6 absolute (the head runs in float32 in both, in a
different summation order); labels identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model2vec.inference import StaticModelPipeline as Reference

from m2v.inference import StaticModelPipeline

PIPELINES = Path(__file__).resolve().parents[3] / "crates" / "m2v-static" / "tests" / "fixtures" / "pipelines"
NAMES = sorted(p.name for p in PIPELINES.iterdir() if (p / "head.safetensors").is_file())


@pytest.mark.parametrize("name", NAMES)
def test_predictions_match_model2vec(name: str, sentences: list[str]) -> None:
    path = PIPELINES / name
    ours, theirs = StaticModelPipeline.from_pretrained(path), Reference.from_pretrained(path)
    if theirs.classes_ is None:
        assert ours.classes_ is None
    else:
        assert ours.classes_ is not None
        assert ours.classes_.dtype == theirs.classes_.dtype
        assert np.array_equal(ours.classes_, theirs.classes_)
    a, b = ours.predict(sentences), theirs.predict(sentences)
    assert a.shape == b.shape and a.dtype == b.dtype
    if b.dtype == object:
        assert all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b))
    elif b.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    else:
        assert np.array_equal(a, b)
    if "regression" in name:
        with pytest.raises(ValueError):
            ours.predict_proba(sentences)
        with pytest.raises(ValueError):
            theirs.predict_proba(sentences)
    else:
        pa, pb = ours.predict_proba(sentences), theirs.predict_proba(sentences)
        assert pa.shape == pb.shape
        np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-6)
    # One string.
    one, ref = ours.predict(sentences[0]), theirs.predict(sentences[0])
    if ref.dtype.kind == "f":
        np.testing.assert_allclose(one, ref, rtol=0, atol=1e-5)
    elif ref.dtype == object:
        assert [list(x) for x in one] == [list(y) for y in ref]
    else:
        assert np.array_equal(one, ref)


@pytest.mark.parametrize("threshold", [0.1, 0.9])
def test_multilabel_threshold(threshold: float, sentences: list[str]) -> None:
    path = PIPELINES / "py_multi"
    ours, theirs = StaticModelPipeline.from_pretrained(path), Reference.from_pretrained(path)
    a = ours.predict(sentences, threshold=threshold)
    b = theirs.predict(sentences, threshold=threshold)
    assert [list(x) for x in a] == [list(y) for y in b]
