"""Fit the real-photo head (albumsorter/core/expression_head.py) on faces the app cuts from expw_dev photos.

    nice -n 10 python -m training.real_photo_head --data-root ../shared/data/expw_dev [--install] [--test]

Faces come through the app's own pipeline: decode at the app's size, `find_faces` (cached per detection
settings), labelled boxes matched at IoU >= 0.4 as `evaluate --dataset expw` does, the shipped CNN on
`face_input` (and on its mirror image), and the Face Landmarker by the quality scorer's own crop
(`QualityScorer.mesh_in_image`, faces of at least its MIN_FACE_PX): its smile score and its 52 blendshapes,
as that scorer stores them. Splits are expw's 80/10/10 by photo (--seed).

1. Features (CNN; CNN + smile; CNN + blendshapes), flip or not and the L2 strength: each fitted on the train
   split with balanced class weights, chosen by log-loss on the valid split.
2. The chosen heads are refitted with a temperature fitted on out-of-fold logits of the train split (5 folds).
3. How far to move toward a family album's class mix (prior strength) and a happy logit offset: chosen on those
   out-of-fold logits (train split only) as the best mean of balanced and natural-mix accuracy whose happy
   precision (less one standard error) and 3-class accuracy are not below the CNN alone's, on both mixes.
4. Figures on the valid split (and with `--test` the test split, once, never used to choose), balanced and on
   a "natural mix" (each face weighted so the classes follow FAMILY_ALBUM_PRIOR).

`--install` writes models/expression/real_photo_head.json. The train split's features are written to
core.improve's replay file in the user's cache (ExpW is non-commercial research data: derived features stay
out of the repository), where `albumsorter improve` finds them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8, GROUPS_3
from albumsorter.core.classify import ModelCard
from albumsorter.core.expression_head import (
    FAMILY_ALBUM_PRIOR,
    ExpressionHead,
    LinearHead,
    blendshape_features,
    cnn_features,
    fit_linear_head,
    fit_temperature,
    mean_log_loss,
    shipped_head_path,
    smile_score,
)
from training.paths import REPO_ROOT, cache_dir

HEAD_CLASSES = tuple(c for c in CLASSES_8 if c != "contempt")  # ExpW has no contempt
L2_GRID = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
SMILE_SHAPES = ("mouthSmileLeft", "mouthSmileRight")


# --- features of expw faces, through the app's pipeline --------------------------------------------------------------


def extract_features(root: Path, seed: int, card: ModelCard) -> dict:
    """Per matched labelled face: id, split, label, CNN log-probabilities (plain and mirrored), blendshapes."""
    from albumsorter.core.decoding import decode_file
    from albumsorter.core.detection import DetectionSettings
    from albumsorter.core.landmarker import LANDMARKER_SHA256
    from albumsorter.core.preprocess import face_input
    from albumsorter.core.scorers.expression import ExpressionScorer
    from albumsorter.core.scorers.quality import MIN_FACE_PX, QualityScorer
    from training.datasets.expw import _detections, match_faces, split_photos

    settings = DetectionSettings()
    key = hashlib.sha1(f"{root.resolve()}|{seed}|{card.id}|{settings.id}|{LANDMARKER_SHA256}|{MIN_FACE_PX}".encode()).hexdigest()[
        :12
    ]
    cache = cache_dir() / f"expw-head-features-{key}.npz"
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return {k: data[k] for k in data.files}
    photos, by_photo = split_photos(root, "all", seed)
    split_of = {photo: name for name in ("train", "valid", "test") for photo in split_photos(root, name, seed)[0]}
    detections = _detections(root, photos)
    cnn = ExpressionScorer(card, card.preprocessing)
    quality = QualityScorer()
    out: dict[str, list] = {k: [] for k in ("ids", "split", "label", "width", "cnn", "cnn_flip", "shapes")}
    shape_names: list[str] = []
    t0 = time.time()
    for n, photo in enumerate(photos):
        det = detections[photo]
        matches = match_faces(by_photo[photo], det["faces"], *det["size"])
        if all(m is None for m in matches):
            continue
        decoded = decode_file(root / photo, settings.max_side)
        for face, m in zip(by_photo[photo], matches):
            if m is None:
                continue
            d = det["faces"][m]
            box = tuple(v / decoded.scale for v in d["box"])
            right_eye, left_eye = (tuple(v / decoded.scale for v in p) for p in d["keypoints"][:2])
            inp = face_input(decoded.rgb, cnn.preprocess, box=box, right_eye=right_eye, left_eye=left_eye)
            plain, mirrored = cnn.cnn_log_probabilities([inp, inp[:, ::-1]], flip=False)
            mesh = quality.mesh_in_image(decoded.rgb, box) if box[2] - box[0] >= MIN_FACE_PX else None
            if mesh is not None and not shape_names:
                shape_names = sorted(mesh.blendshapes)
            shapes = [mesh.blendshapes.get(s, 0.0) for s in shape_names] if mesh is not None else None
            out["ids"].append(f"{photo}#{face['face_id']}")
            out["split"].append(split_of[photo])
            out["label"].append(face["label"])
            out["width"].append(box[2] - box[0])
            out["cnn"].append(plain)
            out["cnn_flip"].append(mirrored)
            out["shapes"].append(shapes)
        if n and n % 200 == 0:
            print(f"  features: {n}/{len(photos)} photos, {time.time() - t0:.0f} s", flush=True)
    quality.close()
    n_shapes = len(shape_names)
    data = {
        "ids": np.array(out["ids"]),
        "split": np.array(out["split"]),
        "label": np.array(out["label"]),
        "width": np.array(out["width"], np.float64),
        "cnn": np.array(out["cnn"], np.float64),
        "cnn_flip": np.array(out["cnn_flip"], np.float64),
        "shapes": np.array([s if s is not None else [np.nan] * n_shapes for s in out["shapes"]], np.float64),
        "shape_names": np.array(shape_names),
    }
    np.savez_compressed(cache, **data)
    return data


def feature_table(data: dict, flip: bool) -> tuple[list[str], np.ndarray]:
    """All named features per face (NaN where the face has no face mesh), as the app would see them: the CNN's
    log-probabilities, the quality scorer's smile score and the 52 blendshapes."""
    log_p = (data["cnn"] + data["cnn_flip"]) / 2 if flip else data["cnn"]
    shape_names = [str(s) for s in data["shape_names"]]
    smile = np.array([smile_score(dict(zip(shape_names, row))) if np.isfinite(row).all() else np.nan for row in data["shapes"]])
    kept = [i for i, s in enumerate(shape_names) if not s.startswith("_")]  # as the quality scorer stores them
    shapes = np.round(data["shapes"][:, kept], 3)
    names = list(cnn_features(log_p[0])) + ["quality:smile"] + list(blendshape_features({shape_names[i]: 0.0 for i in kept}))
    values = np.hstack([np.maximum(log_p, np.log(1e-6)), smile[:, None], shapes])
    return names, values


# --- metrics ---------------------------------------------------------------------------------------------------------


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, weight: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: |accuracy - confidence| averaged over 15 equal-width confidence bins (weighted)."""
    conf = probs.max(axis=1)
    right = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    total, ece = weight.sum(), 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            w = weight[inside]
            ece += w.sum() / total * abs(np.average(right[inside], weights=w) - np.average(conf[inside], weights=w))
    return float(ece)


def figures(probs: np.ndarray, y: np.ndarray, weight: np.ndarray) -> dict:
    """Accuracy (7 and 3 classes), macro F1, balanced accuracy, happy/neutral precision+recall, log-loss, ECE."""
    pred = probs.argmax(axis=1)
    k = len(HEAD_CLASSES)
    cm = np.zeros((k, k))
    np.add.at(cm, (y, pred), weight)
    recall = np.diag(cm) / np.maximum(cm.sum(axis=1), 1e-12)
    precision = np.diag(cm) / np.maximum(cm.sum(axis=0), 1e-12)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    group = np.array([[c in members for members in GROUPS_3.values()] for c in HEAD_CLASSES], float)
    p3, y3 = probs @ group, group[y].argmax(axis=1)
    h, ne = HEAD_CLASSES.index("happy"), HEAD_CLASSES.index("neutral")
    return {
        "accuracy": float(np.average(pred == y, weights=weight)),
        "macro_f1": float(f1.mean()),
        "balanced_accuracy": float(recall.mean()),
        "accuracy_3": float(np.average(p3.argmax(axis=1) == y3, weights=weight)),
        "happy_precision": float(precision[h]),
        "happy_recall": float(recall[h]),
        "neutral_precision": float(precision[ne]),
        "neutral_recall": float(recall[ne]),
        "log_loss": mean_log_loss(np.log(np.clip(probs, 1e-9, 1)), y, weight),
        "ece": expected_calibration_error(probs, y, weight),
        "per_class_recall": {c: round(float(r), 3) for c, r in zip(HEAD_CLASSES, recall)},
    }


def natural_weights(y: np.ndarray) -> np.ndarray:
    """Per-face weights that turn a split's class mix into FAMILY_ALBUM_PRIOR."""
    freq = np.bincount(y, minlength=len(HEAD_CLASSES)) / len(y)
    prior = np.array([FAMILY_ALBUM_PRIOR.get(c, 0.0) for c in HEAD_CLASSES])
    return (prior / np.maximum(freq, 1e-12))[y]


def balanced_weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=len(HEAD_CLASSES)).astype(float)
    return (len(y) / (len(HEAD_CLASSES) * np.maximum(counts, 1)))[y]


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- fitting and choosing ------------------------------------------------------------------------------------------


def fit_head(
    x: np.ndarray, y: np.ndarray, names: list[str], l2: float, folds: int = 5, seed: int = 0
) -> tuple[LinearHead, np.ndarray]:
    """A balanced-weight head on (x, y), its temperature fitted on out-of-fold logits; also those logits (/ T)."""
    head = fit_linear_head(x, y, HEAD_CLASSES, names, l2=l2, sample_weight=balanced_weights(y))
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    oof = np.zeros((len(y), len(HEAD_CLASSES)))
    for f in range(folds):
        train = fold != f
        part = fit_linear_head(x[train], y[train], HEAD_CLASSES, names, l2=l2, sample_weight=balanced_weights(y[train]))
        oof[~train] = part.logits(x[~train])
    temperature = fit_temperature(oof, y, balanced_weights(y))
    return replace(head, temperature=temperature), oof / temperature


def read_faces(
    heads: list[LinearHead], names: list[str], values: np.ndarray, flip: bool, strength: float = 0.0, happy: float = 0.0
) -> np.ndarray:
    """Each face read by the first head whose features it has, as the app does; (N, 7) in HEAD_CLASSES order."""
    system = ExpressionHead("x", tuple(heads), flip, dict(FAMILY_ALBUM_PRIOR), None, strength, {"happy": happy})
    out = np.zeros((len(values), len(HEAD_CLASSES)))
    for i, row in enumerate(values):
        result = system.probabilities({n: v for n, v in zip(names, row) if np.isfinite(v)})
        assert result is not None, "the CNN-only head reads every face"
        out[i] = [result[0][CLASSES_8.index(c)] for c in HEAD_CLASSES]
    return out


def cnn_probs(data: dict, rows: np.ndarray) -> np.ndarray:
    """The CNN alone as the app used it: its 8 probabilities, contempt left out of the argmax."""
    p = np.exp(data["cnn"][rows])[:, [CLASSES_8.index(c) for c in HEAD_CLASSES]]
    return p / p.sum(axis=1, keepdims=True)


def precision_floor(probs: np.ndarray, y: np.ndarray, weight: np.ndarray, cls: int) -> float:
    """Precision of `cls` minus one standard error (effective sample size of the faces labelled `cls`)."""
    said = probs.argmax(axis=1) == cls
    w = weight[said]
    if not w.size:
        return 0.0
    p = float(np.average(y[said] == cls, weights=w))
    n_eff = w.sum() ** 2 / (w**2).sum()
    return p - float(np.sqrt(p * (1 - p) / n_eff))


def choose_decision(logits: np.ndarray, cnn: np.ndarray, y: np.ndarray) -> tuple[float, float, list[str]]:
    """Prior strength and happy offset on held-out (out-of-fold) logits of the train split: the best mean of
    balanced and natural-mix accuracy among the settings whose happy precision is not below the CNN's (less one
    standard error) and whose 3-class accuracy is not below the CNN's, on both mixes."""
    shift = np.log(np.array([FAMILY_ALBUM_PRIOR[c] for c in HEAD_CLASSES]) * len(HEAD_CLASSES))
    h = HEAD_CLASSES.index("happy")
    mixes = {"balanced": np.ones(len(y)), "natural": natural_weights(y)}
    floor = {m: (precision_floor(cnn, y, w, h), figures(cnn, y, w)["accuracy_3"]) for m, w in mixes.items()}
    best, lines = (0.0, 0.0, -1.0), []
    for strength in PRIOR_STRENGTHS:
        for happy in HAPPY_OFFSETS:
            z = logits + strength * shift
            z[:, h] += happy
            probs = softmax(z)
            f = {m: figures(probs, y, w) for m, w in mixes.items()}
            ok = all(f[m]["happy_precision"] >= floor[m][0] and f[m]["accuracy_3"] >= floor[m][1] for m in mixes)
            score = (f["balanced"]["accuracy"] + f["natural"]["accuracy"]) / 2
            lines.append(
                f"a {strength:.2f} happy {happy:+.2f}: balanced acc {100 * f['balanced']['accuracy']:.1f} 3-cl {100 * f['balanced']['accuracy_3']:.1f} "
                f"happy P {f['balanced']['happy_precision']:.3f}; natural acc {100 * f['natural']['accuracy']:.1f} 3-cl {100 * f['natural']['accuracy_3']:.1f} "
                f"happy P {f['natural']['happy_precision']:.3f}{'' if ok else '  (breaks a floor)'}"
            )
            if ok and score > best[2]:
                best = (strength, happy, score)
    lines.insert(
        0,
        "floors (CNN alone, happy precision less one SE / 3-class accuracy): "
        + ", ".join(f"{m} {p:.3f} / {100 * a:.1f}" for m, (p, a) in floor.items()),
    )
    return best[0], best[1], lines


PRIOR_STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
HAPPY_OFFSETS = (0.0, -0.25, -0.5, -0.75, -1.0, -1.25, -1.5, -1.75, -2.0)


def print_row(name: str, f: dict) -> None:
    print(
        f"  {name:44s} acc {100 * f['accuracy']:.1f} | 3-cl {100 * f['accuracy_3']:.1f} | macro-F1 {f['macro_f1']:.3f} | bal-acc {100 * f['balanced_accuracy']:.1f} | "
        f"happy P {f['happy_precision']:.2f} R {f['happy_recall']:.2f} | neutral P {f['neutral_precision']:.2f} R {f['neutral_recall']:.2f} | NLL {f['log_loss']:.3f} | ECE {f['ece']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.real_photo_head", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "expw_dev")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "expression" / "model.json", help="the CNN's card")
    parser.add_argument("--seed", type=int, default=0, help="expw's split seed (default 0, as evaluate)")
    parser.add_argument("--install", action="store_true", help="write models/expression/real_photo_head.json and the replay file")
    parser.add_argument("--test", action="store_true", help="also print the test split's figures (never used to choose)")
    args = parser.parse_args(argv)
    card = ModelCard.load(args.model)
    data = extract_features(args.data_root, args.seed, card)
    y_all = np.array([HEAD_CLASSES.index(c) for c in data["label"]])
    split = data["split"]
    tr, va = split == "train", split == "valid"
    has_mesh = np.isfinite(data["shapes"]).all(axis=1)
    print(
        f"faces: {len(y_all)} (train {tr.sum()}, valid {va.sum()}, test {np.sum(split == 'test')}); with a face mesh {has_mesh.sum()}"
    )
    cnn_names = [f"cnn:{c}" for c in CLASSES_8]
    variants = {
        "cnn": cnn_names,
        "cnn+quality:smile": cnn_names + ["quality:smile"],
        "cnn+blendshapes": cnn_names + [f"bs:{s}" for s in data["shape_names"] if not str(s).startswith("_")],
    }
    # 1. Features, flip and L2 by log-loss on the valid split (each system: its head where a face has its
    #    features, the CNN-only head with the same flip elsewhere, so all read the same 153 faces).
    systems = {}
    for flip in (False, True):
        names, values = feature_table(data, flip)
        fitted = {}
        for variant, wanted in variants.items():
            cols = columns(names, wanted)
            usable = np.isfinite(values[:, cols]).all(axis=1)
            best = None
            for l2 in L2_GRID:
                head = fit_linear_head(
                    values[tr & usable][:, cols],
                    y_all[tr & usable],
                    HEAD_CLASSES,
                    wanted,
                    l2=l2,
                    sample_weight=balanced_weights(y_all[tr & usable]),
                )
                loss = mean_log_loss(head.logits(values[va & usable][:, cols]), y_all[va & usable])
                if best is None or loss < best[0]:
                    best = (loss, l2, head)
            assert best is not None
            fitted[variant] = best
        for variant in variants:
            heads = [fitted[variant][2]] + ([fitted["cnn"][2]] if variant != "cnn" else [])
            probs = read_faces(heads, names, values[va], flip)
            loss = mean_log_loss(np.log(np.clip(probs, 1e-9, 1)), y_all[va])
            systems[variant, flip] = (loss, fitted[variant][1], fitted["cnn"][1])
            print(
                f"  {variant:18s} flip {flip!s:5s}: L2 {fitted[variant][1]:g} (CNN-only head {fitted['cnn'][1]:g}), valid log-loss {loss:.4f}"
            )
    (variant, flip), (_, l2, l2_cnn) = min(systems.items(), key=lambda kv: kv[1][0])
    print(f"chosen: {variant}, flip {flip}, L2 {l2:g} / {l2_cnn:g}")
    # 2. The heads (train split), each with its temperature from out-of-fold logits.
    names, values = feature_table(data, flip)
    heads, oof_logits = [], np.full((int(tr.sum()), len(HEAD_CLASSES)), np.nan)
    for v, reg in zip([variant, "cnn"] if variant != "cnn" else ["cnn"], (l2, l2_cnn)):
        cols = columns(names, variants[v])
        usable = np.isfinite(values[tr][:, cols]).all(axis=1)
        head, oof = fit_head(values[tr][usable][:, cols], y_all[tr][usable], variants[v], reg, seed=args.seed)
        rows = np.nonzero(usable)[0]
        first = np.isnan(oof_logits[rows, 0])  # a face the first head reads keeps its logits
        oof_logits[rows[first]] = oof[first]
        heads.append(head)
        print(f"  head {v}: {usable.sum()} train faces, temperature {head.temperature:.3f}")
    # 3. Prior strength and happy offset on the out-of-fold logits (train split only).
    strength, happy, lines = choose_decision(oof_logits, cnn_probs(data, tr), y_all[tr])
    print("decision grid on out-of-fold train predictions:\n  " + "\n  ".join(lines))
    print(f"chosen: prior strength {strength}, happy offset {happy}")
    # 4. Figures on the held-out split (and test, once, with --test).
    for label, rows in (("valid", va),) + ((("test", split == "test"),) if args.test else ()):
        y = y_all[rows]
        table = {
            "CNN alone (the app before)": cnn_probs(data, rows),
            "head, T = 1 (no prior, no offset)": read_faces(
                [replace(h, temperature=1.0) for h in heads], names, values[rows], flip
            ),
            "head, T fitted (no prior, no offset)": read_faces(heads, names, values[rows], flip),
            "head, balanced (no prior), happy offset": read_faces(heads, names, values[rows], flip, 0.0, happy),
            "head, full family prior, no offset": read_faces(heads, names, values[rows], flip, 1.0, 0.0),
            f"shipped: head, prior {strength:g}, happy {happy:+g}": read_faces(heads, names, values[rows], flip, strength, happy),
        }
        for mix, weight in (("balanced", np.ones(len(y))), ("natural mix", natural_weights(y))):
            print(f"\n{label} split, {mix} ({len(y)} faces):")
            for name, probs in table.items():
                print_row(name, figures(probs, y, weight))
    if args.install:
        info = {
            "made_by": f"python -m training.real_photo_head --data-root {os.path.relpath(args.data_root)} --seed {args.seed} --install",
            "data": f"expw_dev train split ({int(tr.sum())} faces, 80 % of photos, seed {args.seed}) cut by the app's pipeline; chosen on the valid split ({int(va.sum())} faces)",
            "chosen": {"features": variant, "flip": flip, "l2": [l2, l2_cnn], "prior_strength": strength, "happy_offset": happy},
            "valid_log_loss": {f"{v} flip {f}": round(loss, 4) for (v, f), (loss, _, _) in systems.items()},
        }
        head = ExpressionHead(card.id, tuple(heads), flip, dict(FAMILY_ALBUM_PRIOR), None, strength, {"happy": happy}, info=info)
        head.save(shipped_head_path())
        print(f"installed {shipped_head_path()} (id {head.id})")
        from albumsorter.core.improve import default_replay_path, save_replay

        save_replay(default_replay_path(), names, values[tr], [str(c) for c in data["label"][tr]])
        print(f"replay sample (the train split's features, {int(tr.sum())} faces): {default_replay_path()}")
    return 0


def columns(names: list[str], wanted: list[str]) -> list[int]:
    return [names.index(n) for n in wanted]


if __name__ == "__main__":
    sys.exit(main())
