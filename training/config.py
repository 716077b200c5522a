"""Training configuration: one dataclass, saved as config.json in every run folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from albumsorter.core.preprocess import DEFAULT_BOX_MARGIN, PreprocessConfig
from training.augment import AugmentConfig


@dataclass
class TrainConfig:
    # data
    dataset: str = "ferplus"
    data_root: str = ""
    labels: str = "majority"  # majority | soft (FER+)
    classes: int = 8  # grouping 8 | 6 | 3 (thesis §6.3)
    limit: int | None = None  # use only the first N faces of each split (tests, quick checks)
    seed: int = 0
    # more training faces from other data sets ("DATASET=ROOT", their train split), repeated extra_repeat times;
    # validation and test stay on `dataset`
    extra_train: list[str] = field(default_factory=list)
    extra_repeat: int = 1
    # network and input
    network: str = "small_cnn"
    size: int | None = None  # None: the network's thesis default
    channels: int | None = None
    preprocessing: bool = True  # thesis §5.2 on/off
    box_margin: float = DEFAULT_BOX_MARGIN  # square crop around a detector box, without pre-processing
    weights: str | None = None  # user-given weights file (e.g. ImageNet) for fine-tuning
    alpha: float | None = None  # MobileNet width multiplier
    width: int | None = None  # fer_vgg first-block channels
    dropout: float | None = None
    # optimisation (thesis §6.1 defaults)
    optimizer: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-4
    weight_decay: float = 0.0  # adamw only
    lr_schedule: str = "constant"  # constant | cosine | step
    warmup_epochs: float = 0.0
    batch_size: int = 32
    steps_per_epoch: int | None = 256  # None: one pass over the training split
    epochs: int = 100
    early_stopping: int | None = 5  # patience in epochs on val loss; None = off
    select: str = "val_accuracy"  # checkpoint choice: val_accuracy | val_loss
    class_weights: bool = True  # thesis §5.5
    label_smoothing: float = 0.0
    # augmentation
    flip: bool = True
    rotation: float = 0.0
    shift: float = 0.0
    zoom: float = 0.0
    mixup: float = 0.0
    # export
    quantize: str = "none"  # none | float16 | int8 (post-training, at export)

    def preprocess_config(self) -> PreprocessConfig:
        assert self.size is not None and self.channels is not None
        return PreprocessConfig(enabled=self.preprocessing, size=self.size, channels=self.channels, box_margin=self.box_margin)

    def extra_datasets(self) -> list[tuple[str, str]]:
        """(name, root) of each --extra-train entry."""
        out = []
        for entry in self.extra_train:
            name, sep, root = entry.partition("=")
            if not sep or not name or not root:
                raise ValueError(f"extra training data must be DATASET=ROOT, not {entry!r}")
            out.append((name, root))
        return out

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(flip=self.flip, rotation_deg=self.rotation, shift=self.shift, zoom=self.zoom, mixup=self.mixup)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
