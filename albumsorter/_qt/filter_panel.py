"""The filter panel: widgets that build a core PhotoFilter. Changes apply instantly (coalesced into one
query per event-loop turn); the panel holds no query logic of its own.

One control says who smiles ("Smiles: Any / At least one smiling / Everyone smiling", with how strictly a smile
is judged); while it asks for everyone smiling the expression boxes are off (they could only contradict it),
and the line under it says so. Filters that cannot both hold are explained in words, never left as a silently
empty grid. The mood groups are named for what they hold ("Neutral or surprised", not a second "Neutral").
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from albumsorter.core.catalog import PhotoFilter
from albumsorter.core.classes import CLASSES_8, GROUPS_3
from albumsorter.core.subjects import HAPPY_AT_LEAST, Strictness

SMILES_ANY, SMILES_ONE, SMILES_ALL = "any", "one", "all"
SORTS = (
    ("smile", "Smile score"), ("keeper", "Keeper score"), ("rating", "Rating"), ("date", "Date taken"), ("name", "Name"),
    ("faces", "Number of faces"),
)  # fmt: skip
MOOD_NAMES = {"positive": "Positive (happy)", "neutral": "Neutral or surprised", "negative": "Negative"}
STRICTNESS_TEXT = {
    Strictness.RELAXED: ("Relaxed", f"a faint smile counts (happy at least {HAPPY_AT_LEAST[Strictness.RELAXED]:.0%})"),
    Strictness.NORMAL: ("Normal", "happy is the model's first choice"),
    Strictness.STRICT: ("Strict", f"clear smiles only (happy at least {HAPPY_AT_LEAST[Strictness.STRICT]:.0%})"),
}
WHO_COUNTS = "Faces in the background and faces you ignored don't count; faces you added do."


class FilterPanel(QWidget):
    filter_changed = Signal(object)  # PhotoFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FilterPanel")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(lambda: self.filter_changed.emit(self.photo_filter()))
        self._loading = False
        self.sections: list = []  # added by other rooms (best_shot_filters): refine(flt), reset(), conflicts(), changed

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Name contains…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)

        smiles_row = QHBoxLayout()
        self.smiles = QComboBox()
        self.smiles.addItem("Any", SMILES_ANY)
        self.smiles.addItem("At least one smiling", SMILES_ONE)
        self.smiles.addItem("Everyone smiling", SMILES_ALL)
        self.smiles.setToolTip("Everyone smiling: every face that counts smiles.\n" + WHO_COUNTS)
        self.strictness = QComboBox()
        for level, (name, meaning) in STRICTNESS_TEXT.items():
            self.strictness.addItem(name, level.value)
            self.strictness.setItemData(self.strictness.count() - 1, meaning.capitalize(), Qt.ItemDataRole.ToolTipRole)
        self.strictness.setCurrentIndex(self.strictness.findData(Strictness.NORMAL.value))
        self.strictness.setToolTip("How sure a smile must be")
        smiles_label = QLabel("&Smiles:")
        smiles_label.setBuddy(self.smiles)
        smiles_row.addWidget(smiles_label)
        smiles_row.addWidget(self.smiles, 1)
        layout.addLayout(smiles_row)
        self.strictness_row = QWidget()
        strict_row = QHBoxLayout(self.strictness_row)
        strict_row.setContentsMargins(0, 0, 0, 0)
        strictness_label = QLabel("Ho&w sure:")
        strictness_label.setBuddy(self.strictness)
        strict_row.addWidget(strictness_label)
        strict_row.addWidget(self.strictness, 1)
        layout.addWidget(self.strictness_row)
        self.explanation = QLabel()
        self.explanation.setObjectName("FilterExplanation")
        self.explanation.setWordWrap(True)
        layout.addWidget(self.explanation)

        box = QGroupBox("Expressions (any face)")
        self.emotion_box = box
        grid = QGridLayout(box)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        grid.addWidget(QLabel("Mood:"), 0, 0, 1, 3)
        self.groups: dict[str, QCheckBox] = {}
        mood_places = {"positive": (1, 0, 1, 2), "negative": (1, 2, 1, 1), "neutral": (2, 0, 1, 3)}
        for group, members in GROUPS_3.items():
            cb = QCheckBox(MOOD_NAMES[group])
            cb.setToolTip(f"{MOOD_NAMES[group]}: " + ", ".join(members))
            cb.setObjectName(f"group-{group}")
            self.groups[group] = cb
            grid.addWidget(cb, *mood_places[group])
        grid.addWidget(QLabel("Expression:"), 3, 0, 1, 3)
        self.emotions: dict[str, QCheckBox] = {}
        for i, emotion in enumerate(CLASSES_8):
            cb = QCheckBox(emotion.capitalize())
            cb.setObjectName(f"emotion-{emotion}")
            self.emotions[emotion] = cb
            grid.addWidget(cb, 4 + i // 3, i % 3)
        self.every_face = QCheckBox("Every face shows one of these")
        self.every_face.setToolTip(
            "Off: a photo matches when any face shows a chosen expression.\nOn: every face that counts must."
        )
        grid.addWidget(self.every_face, 7, 0, 1, 3)
        layout.addWidget(box)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        faces_row = QHBoxLayout()
        self.min_faces = QSpinBox()
        self.max_faces = QSpinBox()
        for spin in (self.min_faces, self.max_faces):
            spin.setRange(-1, 999)
            spin.setValue(-1)
            spin.setSpecialValueText("any")
        faces_row.addWidget(self.min_faces)
        faces_row.addWidget(QLabel("to"))
        faces_row.addWidget(self.max_faces)
        form.addRow("&Faces:", faces_row)
        form.labelForField(faces_row).setBuddy(self.min_faces)
        self.rating = QComboBox()
        self.rating.addItem("Any", 0)
        for n in range(1, 6):
            self.rating.addItem("★" * n + (" or more" if n < 5 else ""), n)
        form.addRow("&Rating:", self.rating)
        layout.addLayout(form)

        picks = QGroupBox("Flags")
        ph = QHBoxLayout(picks)
        ph.setContentsMargins(6, 4, 6, 4)
        self.picks: dict[str, QCheckBox] = {}
        for key, text in (("picked", "Picked"), ("rejected", "Rejected"), ("unflagged", "Unflagged")):
            cb = QCheckBox(text)
            self.picks[key] = cb
            ph.addWidget(cb)
        layout.addWidget(picks)

        self.errors = QCheckBox("Only photos that could not be read")
        layout.addWidget(self.errors)

        sort_row = QHBoxLayout()
        self.sort = QComboBox()
        for key, text in SORTS:
            self.sort.addItem(text, key)
        self.descending = QToolButton()
        self.descending.setCheckable(True)
        self.descending.setAutoRaise(True)
        self.descending.setToolTip("Reverse the order")
        self._update_order_button()
        sort_label = QLabel("S&ort:")
        sort_label.setBuddy(self.sort)
        sort_row.addWidget(sort_label)
        sort_row.addWidget(self.sort, 1)
        sort_row.addWidget(self.descending)
        layout.addLayout(sort_row)

        self.conflict_label = QLabel()
        self.conflict_label.setObjectName("FilterConflict")
        self.conflict_label.setWordWrap(True)
        self.conflict_label.hide()
        layout.addWidget(self.conflict_label)

        bottom = QHBoxLayout()
        self.count_label = QLabel("")
        self.count_label.setObjectName("FilterCount")
        font = self.count_label.font()
        font.setBold(True)
        self.count_label.setFont(font)
        self.reset_button = QPushButton("&Clear filters")
        self.reset_button.clicked.connect(self.reset)
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.reset_button)
        layout.addLayout(bottom)
        layout.addStretch(1)

        for cb in [*self.groups.values(), *self.emotions.values(), self.every_face, *self.picks.values(), self.errors]:
            cb.toggled.connect(self._changed)
        self.search.textChanged.connect(self._changed)
        for combo in (self.smiles, self.strictness, self.rating):
            combo.currentIndexChanged.connect(self._changed)
        self.min_faces.valueChanged.connect(self._changed)
        self.max_faces.valueChanged.connect(self._changed)
        self.sort.currentIndexChanged.connect(self._sort_changed)
        self.descending.toggled.connect(self._changed)
        self.descending.toggled.connect(self._update_order_button)
        self._update_state()

    # --- state <-> PhotoFilter ---

    def smiles_choice(self) -> str:
        return self.smiles.currentData()

    def strictness_choice(self) -> Strictness:
        return Strictness(self.strictness.currentData())

    def photo_filter(self) -> PhotoFilter:
        only_errors = self.errors.isChecked()
        everyone = self.smiles_choice() == SMILES_ALL and not only_errors
        use_expressions = not everyone and not only_errors
        emotions = [e for e, cb in self.emotions.items() if cb.isChecked()] if use_expressions else []
        groups = [g for g, cb in self.groups.items() if cb.isChecked()] if use_expressions else []
        faces_apply = not only_errors
        flt = PhotoFilter(
            emotions=emotions,
            groups=groups,
            all_faces=self.every_face.isChecked() and bool(emotions or groups),
            min_faces=self.min_faces.value() if faces_apply and self.min_faces.value() >= 0 else None,
            max_faces=self.max_faces.value() if faces_apply and self.max_faces.value() >= 0 else None,
            min_smiles=1 if self.smiles_choice() == SMILES_ONE and not only_errors else None,
            everyone_smiling=self.strictness_choice().value if everyone else None,
            min_rating=self.rating.currentData() or None,
            picks=[k for k, cb in self.picks.items() if cb.isChecked()],
            errors=only_errors,
            name_contains=self.search.text().strip() or None,
            sort=self.sort.currentData(),
            descending=self._descending(),
        )
        for section in self.sections:
            flt = section.refine(flt)
        return flt

    def conflicts(self) -> list[str]:
        """Why the filters as set can match no photo (shown under them)."""
        lo, hi = self.min_faces.value(), self.max_faces.value()
        out = []
        if self.errors.isChecked():
            return out  # the face filters are off for unreadable photos (they have no faces)
        if lo >= 0 and hi >= 0 and lo > hi:
            out.append(f"Faces from {lo} to {hi}: no photo can match; the first number is above the second.")
        if self.smiles_choice() != SMILES_ANY and hi == 0:
            out.append("A smile needs a face, and Faces is set to at most 0.")
        return out + [text for section in self.sections for text in section.conflicts()]

    def _descending(self) -> bool:
        natural = self.sort.currentData() in ("smile", "faces", "rating", "keeper")
        return natural != self.descending.isChecked()

    def reset(self) -> None:
        self._loading = True
        try:
            for cb in [*self.groups.values(), *self.emotions.values(), self.every_face, *self.picks.values(), self.errors]:
                cb.setChecked(False)
            self.search.clear()
            self.smiles.setCurrentIndex(0)
            self.rating.setCurrentIndex(0)
            self.min_faces.setValue(-1)
            self.max_faces.setValue(-1)
            for section in self.sections:
                section.reset()
        finally:
            self._loading = False
        self._changed()

    def is_default(self) -> bool:
        """No filter narrows the photos (the sort aside)."""
        f = self.photo_filter()
        narrowing = (f.emotions, f.groups, f.picks, f.errors, f.name_contains, f.everyone_smiling, f.min_rating, f.eyes_open,
                     f.eyes_closed, f.sharp, f.keepers)  # fmt: skip
        counts = (f.min_faces, f.max_faces, f.min_smiles)
        return not any(narrowing) and all(v is None for v in counts)

    def set_emotions(self, emotions: list[str]) -> None:
        for e, cb in self.emotions.items():
            cb.setChecked(e in emotions)

    def set_everyone_smiling(self, strictness: Strictness | str | None) -> None:
        """Everyone smiling at this strictness (None: any smiles)."""
        if strictness is None:
            self.smiles.setCurrentIndex(self.smiles.findData(SMILES_ANY))
            return
        self.strictness.setCurrentIndex(self.strictness.findData(Strictness(strictness).value))
        self.smiles.setCurrentIndex(self.smiles.findData(SMILES_ALL))

    def add_section(self, section: QWidget, before: QWidget | None = None) -> None:
        """A section of filters from another room (see `sections`), shown above `before` (default: the errors box)."""
        self.sections.append(section)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(before or self.errors), section)
        section.changed.connect(self._changed)
        self._update_state()

    def set_count(self, shown: int, total: int | None = None) -> None:
        text = f"{shown:,} photo{'s' if shown != 1 else ''}"
        if total is not None and total != shown:
            text += f" of {total:,}"
        self.count_label.setText(text)

    # --- internals ---

    def _update_state(self) -> None:
        """Enable what applies, and say in words what the smile filter means."""
        only_errors = self.errors.isChecked()
        everyone = self.smiles_choice() == SMILES_ALL
        self.strictness_row.setVisible(everyone and not only_errors)
        self.smiles.setEnabled(not only_errors)
        self.emotion_box.setEnabled(not everyone and not only_errors)
        self.min_faces.setEnabled(not only_errors)
        self.max_faces.setEnabled(not only_errors)
        self.emotion_box.setTitle("Expressions (every face)" if self.every_face.isChecked() else "Expressions (any face)")
        if only_errors:
            text = "Unreadable photos have no faces: the smile, expression and face filters are off."
        elif everyone:
            text = f"Every face that counts smiles — {STRICTNESS_TEXT[self.strictness_choice()][1]}. {WHO_COUNTS}"
            if any(cb.isChecked() for cb in [*self.groups.values(), *self.emotions.values()]):
                text += " The expression boxes are off while everyone must smile."
        elif self.smiles_choice() == SMILES_ONE:
            text = "At least one face that counts smiles (happy is the model's first choice)."
        else:
            text = ""
        self.explanation.setText(text)
        self.explanation.setVisible(bool(text))
        conflicts = self.conflicts()
        self.conflict_label.setText("⚠ " + " ".join(conflicts) if conflicts else "")
        self.conflict_label.setVisible(bool(conflicts))

    def _changed(self, *_):
        self._update_state()
        if not self._loading:
            self._timer.start()

    def _sort_changed(self, *_):
        self._update_order_button()
        self._changed()

    def _update_order_button(self, *_):
        desc = self._descending()
        self.descending.setText("↓" if desc else "↑")
        self.descending.setToolTip("Descending (click for ascending)" if desc else "Ascending (click for descending)")
