"""The filter panel's "Best shot" section (issue #11): eyes open on every face, someone's eyes closed, sharp, and
the keepers only (the best photo of each group of bursts and near-duplicates).

The section refines the panel's PhotoFilter (`refine`), so everything that reads the panel's filter (the window,
the People room) gets these too; the panel resets it with its own filters. Thresholds come from core.keeper, so
the tooltips say what the filters really test.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QWidget

from albumsorter.core.catalog import PhotoFilter
from albumsorter.core.keeper import EYES_OPEN_AT, SHARP_AT, describe_weights

MAIN_FACES = "Only the main faces count (a face less than a third as wide as the largest is in the background)."


class BestShotFilters(QGroupBox):
    """Signals: changed() when a box is ticked or cleared."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Best shot", parent)
        self.setObjectName("BestShotFilters")
        self.eyes_open = QCheckBox("Eyes open (every face)")
        self.eyes_open.setToolTip(
            f"Every main face's eyes are judged open (at least {EYES_OPEN_AT:.0%} sure), and at least one face's eyes "
            f"could be read.\n{MAIN_FACES}"
        )
        self.eyes_closed = QCheckBox("Someone's eyes closed")
        self.eyes_closed.setToolTip(f"At least one main face's eyes are judged closed.\n{MAIN_FACES}")
        self.sharp = QCheckBox("Sharp")
        self.sharp.setToolTip(
            f"Every main face is in focus (face sharpness at least {SHARP_AT:.0%}); a photo without faces must be sharp itself."
        )
        self.keepers = QCheckBox("Keepers only (best of each group)")
        self.keepers.setToolTip(
            "One photo of each burst or group of near-duplicates: the one with the highest keeper score, and every photo "
            f"that is in no group.\nKeeper score: {describe_weights()}."
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.eyes_open, 0, 0)
        grid.addWidget(self.sharp, 0, 1)
        grid.addWidget(self.eyes_closed, 1, 0, 1, 2)
        grid.addWidget(self.keepers, 2, 0, 1, 2)
        for box in self.boxes():
            box.toggled.connect(lambda _on: self.changed.emit())

    def boxes(self) -> list[QCheckBox]:
        return [self.eyes_open, self.eyes_closed, self.sharp, self.keepers]

    def refine(self, flt: PhotoFilter) -> PhotoFilter:
        """The panel's filter with this section's wishes (none for unreadable photos, which have no faces)."""
        if flt.errors:
            return flt
        return dataclasses.replace(
            flt,
            eyes_open=self.eyes_open.isChecked(),
            eyes_closed=self.eyes_closed.isChecked(),
            sharp=self.sharp.isChecked(),
            keepers=self.keepers.isChecked(),
        )

    def reset(self) -> None:
        """Clear every box without a signal per box (the panel signals once)."""
        for box in self.boxes():
            box.blockSignals(True)
            box.setChecked(False)
            box.blockSignals(False)

    def conflicts(self) -> list[str]:
        if self.eyes_open.isChecked() and self.eyes_closed.isChecked():
            return ["Eyes open (every face) and someone's eyes closed cannot both hold."]
        return []
