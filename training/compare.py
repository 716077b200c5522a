"""Chi-square tests of whether two runs' accuracies differ (scipy), from the predictions evaluate saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albumsorter.core.classes import grouping_matrix


def _predictions(folder: Path, key: str | None) -> tuple[str, dict]:
    files = sorted(Path(folder).glob("predictions-*.npz"))
    if key:
        files = [f for f in files if f.stem == f"predictions-{key}"]
    if not files:
        raise SystemExit(f"{folder}: no predictions{'-' + key if key else ''}.npz (run evaluate first)")
    return files[0].stem.removeprefix("predictions-"), dict(np.load(files[0]))


def _correct(data: dict, n_classes: int) -> np.ndarray:
    true, probs = data["true"], data["probs"]
    if probs.shape[1] == 8 and n_classes != 8:
        m = grouping_matrix(n_classes)
        keep = m[true].sum(axis=1) > 0
        return np.where(keep, (probs @ m).argmax(axis=1) == m[true].argmax(axis=1), False)[keep]
    return probs.argmax(axis=1) == true


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """McNemar's chi-square (continuity-corrected, 1 dof) on paired right/wrong outcomes."""
    from scipy.stats import chi2

    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    stat = (abs(b - c) - 1) ** 2 / (b + c) if b + c else 0.0
    return {"a_only_right": b, "b_only_right": c, "chi2": float(stat), "p": float(chi2.sf(stat, 1))}


def contingency(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """Pearson chi-square of the 2x2 table (model x right/wrong), as for two independent samples."""
    from scipy.stats import chi2_contingency

    table = np.array([[correct_a.sum(), (~correct_a).sum()], [correct_b.sum(), (~correct_b).sum()]])
    stat, p, dof, _ = chi2_contingency(table)
    return {"table": table.tolist(), "chi2": float(stat), "p": float(p), "dof": int(dof)}


def compare_runs(run_a: Path, run_b: Path, key: str | None = None, n_classes: int = 8) -> dict:
    key_a, a = _predictions(run_a, key)
    key_b, b = _predictions(run_b, key or key_a)
    if (
        len(a["true"]) != len(b["true"])
        or not np.array_equal(a["true"], b["true"])
        or ("ids" in a and "ids" in b and not np.array_equal(a["ids"], b["ids"]))
    ):
        raise SystemExit(f"{run_a} and {run_b} were not evaluated on the same faces ({key_a} vs {key_b})")
    ca, cb = _correct(a, n_classes), _correct(b, n_classes)
    result = {
        "key": key_a,
        "classes": n_classes,
        "n": int(len(ca)),
        "accuracy_a": float(ca.mean()),
        "accuracy_b": float(cb.mean()),
        "mcnemar": mcnemar(ca, cb),
        "contingency": contingency(ca, cb),
    }
    result["summary"] = (
        f"{key_a}, {n_classes} classes, n = {len(ca)}: A {Path(run_a).name} {ca.mean():.4f} vs B {Path(run_b).name} {cb.mean():.4f}; "
        f"McNemar chi2 = {result['mcnemar']['chi2']:.3f}, p = {result['mcnemar']['p']:.4g} "
        f"(A only right {result['mcnemar']['a_only_right']}, B only right {result['mcnemar']['b_only_right']}); "
        f"2x2 chi2 = {result['contingency']['chi2']:.3f}, p = {result['contingency']['p']:.4g}"
    )
    return result
