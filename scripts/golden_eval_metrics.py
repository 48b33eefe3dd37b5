"""Reference values of m2v-eval's retrieval, clustering, pair-classification and
bitext metrics, from the implementations MTEB uses: pytrec_eval (trec_eval) for
nDCG@k and recall@k, scikit-learn for average precision, V-measure and the weighted
F1 of bitext mining.

Writes crates/m2v-eval/tests/fixtures/eval_metrics.json, read by
crates/m2v-eval/tests/metrics_reference.rs.

    pip install scikit-learn pytrec-eval-terrier numpy
    python scripts/golden_eval_metrics.py
"""

import json
from pathlib import Path

import numpy as np
import pytrec_eval
import sklearn
from sklearn.metrics import average_precision_score, f1_score, v_measure_score

rng = np.random.default_rng(20241001)
out = {"sklearn": sklearn.__version__}

# Retrieval: 6 queries over 40 documents; graded judgements (0, 1, 2), distinct
# scores (trec_eval breaks ties by document id, which our ranking does not copy).
queries = []
for q in range(6):
    n_judged = int(rng.integers(1, 8))
    docs = rng.choice(40, size=n_judged, replace=False)
    rels = rng.integers(0, 3, size=n_judged)
    rels[0] = max(rels[0], 1)  # at least one relevant document
    scores = rng.permutation(40) + rng.random(40) * 0.5
    scores[docs] += rels * rng.random(n_judged) * 20  # relevant documents rank higher
    ranked = [int(d) for d in np.argsort(-scores, kind="stable")]
    queries.append(
        {
            "qrels": {f"d{int(d)}": int(r) for d, r in zip(docs, rels)},
            "run": {f"d{d}": float(scores[d]) for d in range(40)},
            "ranked": ranked,
            "judged": [[int(d), float(r)] for d, r in zip(docs, rels)],
        }
    )
evaluator = pytrec_eval.RelevanceEvaluator(
    {f"q{i}": q["qrels"] for i, q in enumerate(queries)},
    {"ndcg_cut.5,10", "recall.5,100"},
)
res = evaluator.evaluate({f"q{i}": q["run"] for i, q in enumerate(queries)})
out["retrieval"] = [
    {
        "ranked": q["ranked"],
        "judged": q["judged"],
        "ndcg_cut_5": res[f"q{i}"]["ndcg_cut_5"],
        "ndcg_cut_10": res[f"q{i}"]["ndcg_cut_10"],
        "recall_5": res[f"q{i}"]["recall_5"],
        "recall_100": res[f"q{i}"]["recall_100"],
    }
    for i, q in enumerate(queries)
]

# Average precision with tied scores (one decimal).
labels = rng.random(200) < 0.3
scores = np.round(rng.random(200) + labels * 0.3, 1)
out["average_precision"] = {
    "labels": [bool(x) for x in labels],
    "scores": [float(x) for x in scores],
    "ap": float(average_precision_score(labels, scores)),
}

# V-measure: 300 items, 5 classes, 7 clusters, correlated.
classes = rng.integers(0, 5, size=300)
clusters = np.where(rng.random(300) < 0.6, classes, rng.integers(0, 7, size=300))
out["v_measure"] = {
    "classes": [int(x) for x in classes],
    "clusters": [int(x) for x in clusters],
    "v": float(v_measure_score(classes, clusters)),
}

# Bitext F1 (MTEB: f1_score(gold, predicted, average="weighted")), collisions included.
pred = np.where(rng.random(50) < 0.7, np.arange(50), rng.integers(0, 50, size=50))
out["bitext"] = {
    "predicted": [int(x) for x in pred],
    "f1": float(f1_score(np.arange(50), pred, average="weighted", zero_division=0)),
}

path = Path(__file__).resolve().parent.parent / "crates/m2v-eval/tests/fixtures/eval_metrics.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
