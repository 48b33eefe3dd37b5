"""Golden values for m2v-benches' softmax regression (benches/src/logreg.rs).

Fits scikit-learn's LogisticRegression (lbfgs, L2, C=1, multinomial for 3 classes)
on standardised features of a small overlapping 3-class problem and writes the data,
the coefficients and the test-set probabilities to
benches/tests/fixtures/logreg_sklearn.json.

Run: ~/.cache/m2v/pyenv/bin/python scripts/bench_logreg_golden.py
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(7)
centres = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.5, 0.0, -0.5], [0.0, 1.0, 1.0, 0.5]])
scales = np.array([1.0, 3.0, 0.5, 10.0])  # unequal scales: standardisation matters


def draw(n_per_class):
    xs, ys = [], []
    for c, m in enumerate(centres):
        xs.append((m + rng.normal(size=(n_per_class, 4))) * scales + 2.0)
        ys += [c] * n_per_class
    x = np.concatenate(xs)
    y = np.array(ys)
    perm = rng.permutation(len(y))
    return x[perm], y[perm]


x_train, y_train = draw(40)
x_test, y_test = draw(20)
scaler = StandardScaler().fit(x_train)  # population std (ddof=0), like logreg.rs
clf = LogisticRegression(C=1.0, tol=1e-12, max_iter=100_000)
clf.fit(scaler.transform(x_train), y_train)
proba = clf.predict_proba(scaler.transform(x_test))
pred = proba.argmax(axis=1)

out = {
    "generator": "scripts/bench_logreg_golden.py",
    "sklearn": sklearn.__version__,
    "x_train": x_train.astype(np.float32).tolist(),
    "y_train": y_train.tolist(),
    "x_test": x_test.astype(np.float32).tolist(),
    "y_test": y_test.tolist(),
    "coef": clf.coef_.tolist(),
    "proba_test": proba.tolist(),
    "accuracy_test": float((pred == y_test).mean()),
}
# The features are stored as f32 (what the bench feeds the classifier); refit on the
# rounded values so the golden numbers are exactly for the data in the file.
xt32 = np.array(out["x_train"], dtype=np.float64)
xs32 = np.array(out["x_test"], dtype=np.float64)
scaler = StandardScaler().fit(xt32)
clf.fit(scaler.transform(xt32), y_train)
out["coef"] = clf.coef_.tolist()
out["proba_test"] = clf.predict_proba(scaler.transform(xs32)).tolist()
out["accuracy_test"] = float((clf.predict(scaler.transform(xs32)) == y_test).mean())
path = pathlib.Path(__file__).resolve().parent.parent / "benches/tests/fixtures/logreg_sklearn.json"
path.write_text(json.dumps(out))
print(f"wrote {path}: test accuracy {out['accuracy_test']:.3f}")
