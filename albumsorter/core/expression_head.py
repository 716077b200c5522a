"""The real-photo head: a small logistic layer that turns the expression CNN's output (and, when the face has
them, what the Face Landmarker measured) into calibrated probabilities for faces in real photos.

The CNN was trained on FER+'s tight, frontal 48 x 48 crops; on faces cut from real photos it over-predicts
neutral. The head is fitted with balanced class weights on faces the app itself cut from real photos
(training/real_photo_head.py), scaled by one temperature T, then moved toward the class mix of the photos it
is used on: probabilities = softmax(logits / T + a (log(prior) - log(training prior)) + offsets), where
`prior` is a family album's (mostly happy and neutral), `a` (prior_strength) how far to trust it, and
`offsets` per-class logit offsets (a negative happy offset keeps smile precision); a and the offsets are
chosen on held-out predictions and recorded in the file.

A head file (JSON) holds one or more linear heads, most features first; each face gets the first head whose
features it has (a face too small for the landmarker gets the CNN-only one). Feature names:
``cnn:<class>`` the CNN's log-probability of a class (CLASSES_8), averaged over the face and its mirror image
when the file says ``flip``; ``quality:smile`` the "quality" scorer's smile score (the mean of the landmarker's
mouthSmileLeft/Right blendshapes); ``bs:<name>`` a blendshape score, where the quality result carries them.

Fitting (`fit_linear_head`) lives here too, in plain numpy, so that the app can fine-tune a head on the
user's corrections without the training extras (see core/improve.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from albumsorter.core.classes import CLASSES_8, canonical_class
from albumsorter.core.classify import ModelError
from albumsorter.core.resources import models_dir

CNN_PREFIX = "cnn:"
BLENDSHAPE_PREFIX = "bs:"
QUALITY_PREFIX = "quality:"
QUALITY_FEATURES = ("smile",)  # numbers of the quality scorer's result the heads may read
LOG_FLOOR = math.log(1e-6)  # the CNN's log-probabilities are clipped here (a 0 would be -inf)
FORMAT = "albumsorter-expression-head/1"
SHIPPED_HEAD_FILE = "real_photo_head.json"
PERSONAL_HEAD_FILE = "expression_head.json"

# What the app assumes a face in a family album shows, before looking at it (an assumption, not a measurement:
# mostly smiles and neutral faces). Used to shift the balanced-trained head to the photos users sort.
FAMILY_ALBUM_PRIOR: dict[str, float] = {
    "happy": 0.50, "neutral": 0.30, "surprise": 0.06, "sad": 0.05, "anger": 0.03, "fear": 0.03, "disgust": 0.03,
}  # fmt: skip


class HeadError(ModelError):
    """A head file is missing, unreadable or does not fit the expression model (a model error: exit code 4)."""


def cnn_features(log_probabilities: Sequence[float]) -> dict[str, float]:
    """The CNN's 8 log-probabilities (CLASSES_8 order) as named features."""
    return {f"{CNN_PREFIX}{c}": max(LOG_FLOOR, float(v)) for c, v in zip(CLASSES_8, log_probabilities)}


def blendshape_features(blendshapes: Mapping[str, float] | None) -> dict[str, float]:
    return {f"{BLENDSHAPE_PREFIX}{k}": float(v) for k, v in (blendshapes or {}).items()}


def quality_features(data: Mapping | None) -> dict[str, float]:
    """The quality scorer's numbers a head may read (`QUALITY_FEATURES`, those that are set) and its
    blendshapes (``data["blendshapes"]``, where present)."""
    if not data:
        return {}
    out = {f"{QUALITY_PREFIX}{k}": float(data[k]) for k in QUALITY_FEATURES if isinstance(data.get(k), (int, float))}
    shapes = data.get("blendshapes")
    if isinstance(shapes, Mapping):
        out.update(blendshape_features(shapes))
    return out


def smile_score(blendshapes: Mapping[str, float]) -> float:
    """The quality scorer's smile: the mean of the two mouthSmile blendshapes, as it stores it (3 decimals)."""
    return round((blendshapes.get("mouthSmileLeft", 0.0) + blendshapes.get("mouthSmileRight", 0.0)) / 2.0, 3)


@dataclass(frozen=True)
class LinearHead:
    """logits = W ((x - mean) / scale) + b over `features`, for `classes`; `temperature` divides the logits."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    weights: np.ndarray  # (classes, features)
    bias: np.ndarray  # (classes,)
    mean: np.ndarray  # (features,)
    scale: np.ndarray  # (features,)
    temperature: float = 1.0

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) / self.scale

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, features) raw feature rows -> (N, classes) logits, divided by the temperature."""
        return (self.standardise(x) @ self.weights.T + self.bias) / self.temperature

    def row(self, features: Mapping[str, float]) -> np.ndarray:
        return np.array([features[name] for name in self.features], np.float64)

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "classes": list(self.classes),
            "weights": np.round(self.weights, 6).tolist(),
            "bias": np.round(self.bias, 6).tolist(),
            "mean": np.round(self.mean, 6).tolist(),
            "scale": np.round(self.scale, 6).tolist(),
            "temperature": round(float(self.temperature), 6),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> LinearHead:
        head = cls(
            tuple(data["features"]),
            tuple(canonical_class(c) for c in data["classes"]),
            np.asarray(data["weights"], np.float64),
            np.asarray(data["bias"], np.float64),
            np.asarray(data["mean"], np.float64),
            np.asarray(data["scale"], np.float64),
            float(data.get("temperature", 1.0)),
        )
        n_classes, n_features = len(head.classes), len(head.features)
        shapes = (head.weights.shape, head.bias.shape, head.mean.shape, head.scale.shape)
        if shapes != ((n_classes, n_features), (n_classes,), (n_features,), (n_features,)) or head.temperature <= 0:
            raise ValueError(f"head arrays do not match its {n_classes} classes and {n_features} features")
        return head


@dataclass(frozen=True)
class ExpressionHead:
    """The heads of one file and how their output becomes the 8 stored probabilities."""

    base_model_id: str  # the CNN (model card id) whose outputs the features are: another CNN gets no head
    heads: tuple[LinearHead, ...]  # most features first
    flip: bool = False  # the CNN's log-probabilities averaged over the face and its mirror image
    prior: dict[str, float] | None = None  # the class prior of the photos it is used on (None: as trained)
    train_prior: dict[str, float] | None = None  # the class prior the heads were fitted with (None: uniform)
    prior_strength: float = 1.0  # how far toward `prior` (0: not at all)
    offsets: dict[str, float] | None = None  # logit offsets per class, added last
    name: str = "real-photo"  # "real-photo" (shipped) or "personal" (fine-tuned on the user's corrections)
    info: dict = field(default_factory=dict, compare=False)  # how it was made and measured (free-form)

    @property
    def id(self) -> str:
        """Changes with any number in the file: part of the expression scorer's model id."""
        payload = json.dumps(self.to_dict(with_info=False), sort_keys=True).encode()
        return f"{self.name}-{hashlib.sha1(payload).hexdigest()[:10]}"

    def head_for(self, available: Mapping[str, float]) -> LinearHead | None:
        for head in self.heads:
            if all(name in available for name in head.features):
                return head
        return None

    def prior_shift(self, classes: Sequence[str]) -> np.ndarray:
        """a (log(prior) - log(training prior)) + offsets, per class (0 without a prior or offsets)."""
        offsets = np.array([float((self.offsets or {}).get(c, 0.0)) for c in classes])
        known = [i for i, c in enumerate(classes) if self.prior and self.prior.get(c, 0.0) > 0]
        if not known:
            return offsets
        assert self.prior is not None
        train = self.train_prior or {}
        prior = np.array([self.prior[classes[i]] for i in known])
        fitted = np.array([max(1e-6, train.get(classes[i], 1.0 / len(classes))) for i in known])
        shift = np.zeros(len(classes))  # a class the prior does not name (one a user taught, say) is left as fitted
        shift[known] = self.prior_strength * (np.log(prior / prior.sum()) - np.log(fitted / fitted.sum()))
        return shift + offsets

    def probabilities(self, features: Mapping[str, float]) -> tuple[np.ndarray, LinearHead] | None:
        """The 8 probabilities (CLASSES_8 order; classes the head lacks get 0) and the head used, or None when
        no head has the features it needs."""
        head = self.head_for(features)
        if head is None:
            return None
        z = head.logits(head.row(features)[None, :])[0] + self.prior_shift(head.classes)
        p = np.exp(z - z.max())
        p /= p.sum()
        out = np.zeros(len(CLASSES_8))
        for c, v in zip(head.classes, p):
            out[CLASSES_8.index(c)] = v
        return out, head

    def to_dict(self, with_info: bool = True) -> dict:
        data = {
            "format": FORMAT,
            "name": self.name,
            "base_model_id": self.base_model_id,
            "flip": self.flip,
            "prior": self.prior,
            "train_prior": self.train_prior,
            "prior_strength": self.prior_strength,
            "offsets": self.offsets,
            "heads": [h.to_dict() for h in self.heads],
        }
        if with_info:
            data["info"] = self.info
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> ExpressionHead:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an expression head file (format {data.get('format')!r}, expected {FORMAT!r})")
        heads = tuple(LinearHead.from_dict(h) for h in data["heads"])
        if not heads:
            raise ValueError("a head file needs at least one head")
        return cls(
            str(data["base_model_id"]), heads, bool(data.get("flip", False)), data.get("prior"), data.get("train_prior"),
            float(data.get("prior_strength", 1.0)), data.get("offsets"), str(data.get("name", "real-photo")),
            dict(data.get("info", {})),
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path | str) -> ExpressionHead:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise HeadError(f"expression head not found: {path}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HeadError(f"expression head {path} is unreadable: {exc}") from None

    def save(self, path: Path | str) -> None:
        """Written atomically (a crash never leaves half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)


# --- where heads live ------------------------------------------------------------------------------------------------


def shipped_head_path() -> Path:
    return models_dir() / "expression" / SHIPPED_HEAD_FILE


def personal_head_path() -> Path:
    """The user's own head (made by `albumsorter improve`), in the user's data directory, never in models/."""
    import platformdirs

    return Path(platformdirs.user_data_dir("AlbumSorter", appauthor=False)) / "models" / PERSONAL_HEAD_FILE


def active_head(base_model_id: str) -> ExpressionHead | None:
    """The head the app applies on top of the CNN `base_model_id`: the user's own if there is one made for this
    CNN, else the shipped one if made for it, else none (the CNN's probabilities as they are). A damaged
    personal head is skipped (the shipped one is used); a damaged shipped head raises HeadError."""
    personal = personal_head_path()
    if personal.is_file():
        try:
            head = ExpressionHead.load(personal)
        except HeadError:
            head = None
        if head is not None and head.base_model_id == base_model_id:
            return head
    shipped = shipped_head_path()
    if shipped.is_file():
        head = ExpressionHead.load(shipped)
        if head.base_model_id == base_model_id:
            return head
    return None


# --- fitting (numpy only) --------------------------------------------------------------------------------------------


def fit_linear_head(
    x: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    features: Sequence[str],
    l2: float = 1e-2,
    sample_weight: np.ndarray | None = None,
    start: LinearHead | None = None,
    iterations: int = 3000,
) -> LinearHead:
    """Multinomial logistic regression of class indices `y` (into `classes`) on raw feature rows `x`.

    Minimises the weighted mean cross-entropy + l2 * |W - W0|^2 (with `start`, biases included), by Nesterov-accelerated gradient descent with
    the step of the loss's curvature bound (converges without tuning). Without `start`, features are
    standardised on `x` and W0 = 0; with `start` (fine-tuning), its standardisation is kept and W0 is its
    weights: a small data set moves the head away from where it was only as far as the data ask.
    Classes of `classes` not in `start` start at weight 0 and a low bias.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, int)
    n, d = x.shape
    k = len(classes)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w = w / w.sum()
    if start is None:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        w0, b0 = np.zeros((k, d)), np.zeros(k)
    else:
        if tuple(start.features) != tuple(features):
            raise ValueError("fine-tuning keeps the starting head's features")
        mean, scale = start.mean, start.scale
        w0, b0 = np.zeros((k, d)), np.full(k, -4.0)
        for i, c in enumerate(classes):
            if c in start.classes:
                j = start.classes.index(c)
                w0[i], b0[i] = start.weights[j] * start.temperature**-1, start.bias[j] / start.temperature
    z = (x - mean) / scale
    onehot = np.eye(k)[y]
    # Curvature bound of the mean softmax cross-entropy: 0.5 * largest eigenvalue of the weighted second moment.
    za = np.hstack([z, np.ones((n, 1))])
    lipschitz = 0.5 * float(np.linalg.eigvalsh((za * w[:, None]).T @ za)[-1]) + 2 * l2
    step = 1.0 / lipschitz
    params = np.hstack([w0, b0[:, None]])
    # A fresh fit leaves the biases free; fine-tuning holds them too (a few corrections of one class must not
    # move every face toward it).
    regularised = slice(0, d + 1) if start is not None else slice(0, d)
    anchor = params.copy()
    velocity_from = params.copy()
    for t in range(1, iterations + 1):
        lookahead = params + (t - 1) / (t + 2) * (params - velocity_from)
        logits = za @ lookahead.T
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = ((p - onehot) * w[:, None]).T @ za
        grad[:, regularised] += 2 * l2 * (lookahead[:, regularised] - anchor[:, regularised])
        velocity_from, params = params, lookahead - step * grad
    return LinearHead(tuple(features), tuple(classes), params[:, :d], params[:, d], mean, scale, 1.0)


def mean_log_loss(logits: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    losses = -log_p[np.arange(len(y)), np.asarray(y, int)]
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return float((losses * w).sum() / w.sum())


def fit_temperature(logits: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """The temperature T minimising the log-loss of softmax(logits / T) (golden-section search on log T)."""
    lo, hi = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return mean_log_loss(logits / math.exp(log_t), y, sample_weight)

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return float(math.exp((lo + hi) / 2))
