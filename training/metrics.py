"""Classification metrics of thesis §7: top-1/top-2, per-class P/R/F1, confusion matrices, groupings."""

from __future__ import annotations

import numpy as np

from albumsorter.core.classes import CLASSES_8, GROUPINGS, grouping_matrix


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """Rows = true class, columns = predicted class."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, int), np.asarray(pred, int)), 1)
    return cm


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def classification_metrics(true: np.ndarray, probs: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Metrics of one labelling: true class indices (N,) and probabilities (N, len(classes))."""
    true = np.asarray(true, int)
    probs = np.asarray(probs, float)
    n = len(classes)
    pred = probs.argmax(axis=1)
    order = np.argsort(-probs, axis=1)
    top2 = float(np.mean([t in o[:2] for t, o in zip(true, order)])) if len(true) else 0.0
    cm = confusion_matrix(true, pred, n)
    scores = per_class_scores(cm)
    present = scores["support"] > 0
    weights = scores["support"] / max(scores["support"].sum(), 1.0)
    return {
        "n": int(len(true)),
        "classes": list(classes),
        "top1": float(np.mean(pred == true)) if len(true) else 0.0,
        "top2": top2,
        "per_class": {
            c: {k: float(scores[k][i]) for k in ("precision", "recall", "f1")} | {"support": int(scores["support"][i])}
            for i, c in enumerate(classes)
        },
        "macro": {k: float(scores[k][present].mean()) if present.any() else 0.0 for k in ("precision", "recall", "f1")},
        "weighted": {k: float((scores[k] * weights).sum()) for k in ("precision", "recall", "f1")},
        "confusion": cm.tolist(),
    }


def grouped_metrics(true8: np.ndarray, probs8: np.ndarray) -> dict[str, dict]:
    """Metrics for the 8-class labels and their 6- and 3-class groupings (thesis §6.3).

    Probabilities are grouped as the app groups them (6: renormalised without contempt/disgust,
    3: summed); faces of dropped classes leave the 6-class figures.
    """
    out = {}
    for n in (8, 6, 3):
        m = grouping_matrix(n)
        true_mapped = m[np.asarray(true8, int)]
        keep = true_mapped.sum(axis=1) > 0
        t = true_mapped[keep].argmax(axis=1)
        p = probs8[keep] @ m
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        out[str(n)] = classification_metrics(t, p, GROUPINGS[n])
    return out


def without_class(true8: np.ndarray, probs8: np.ndarray, dropped: str) -> dict:
    """Accuracy when a class absent from a data set (ExpW has no contempt) is removed from the argmax."""
    keep_cols = [i for i, c in enumerate(CLASSES_8) if c != dropped]
    classes = tuple(CLASSES_8[i] for i in keep_cols)
    remap = {old: new for new, old in enumerate(keep_cols)}
    rows = np.array([t in remap for t in true8], bool)
    t = np.array([remap[x] for x in np.asarray(true8)[rows]], int)
    p = probs8[rows][:, keep_cols]
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return classification_metrics(t, p, classes)
