"""The filter panel: widgets that build a core PhotoFilter. Changes apply instantly (coalesced into one
query per event-loop turn); the panel holds no query logic of its own."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
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

SMILES_ANY, SMILES_ONE, SMILES_ALL = "any", "one", "all"
SORTS = (("smile", "Smile score"), ("date", "Date taken"), ("name", "Name"), ("faces", "Number of faces"))


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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Name contains…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)

        box = QGroupBox("Expressions (any face)")
        self.emotion_box = box
        grid = QGridLayout(box)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        mood = QLabel("Mood:")
        grid.addWidget(mood, 0, 0, 1, 3)
        self.groups: dict[str, QCheckBox] = {}
        for col, group in enumerate(GROUPS_3):
            cb = QCheckBox(group.capitalize())
            cb.setToolTip(f"{group}: " + ", ".join(GROUPS_3[group]))
            cb.setObjectName(f"group-{group}")
            self.groups[group] = cb
            grid.addWidget(cb, 1, col)
        expression = QLabel("Expression:")
        grid.addWidget(expression, 2, 0, 1, 3)
        self.emotions: dict[str, QCheckBox] = {}
        for i, emotion in enumerate(CLASSES_8):
            cb = QCheckBox(emotion.capitalize())
            cb.setObjectName(f"emotion-{emotion}")
            self.emotions[emotion] = cb
            grid.addWidget(cb, 3 + i // 3, i % 3)
        self.every_face = QCheckBox("Every face must match")
        self.every_face.setToolTip("Off: a photo matches when any face shows a chosen expression.\nOn: every face must.")
        grid.addWidget(self.every_face, 6, 0, 1, 3)
        layout.addWidget(box)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.smiles = QComboBox()
        self.smiles.addItem("Any", SMILES_ANY)
        self.smiles.addItem("At least one smile", SMILES_ONE)
        self.smiles.addItem("Everyone smiling", SMILES_ALL)
        form.addRow("&Smiles:", self.smiles)

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
        self.smiles.currentIndexChanged.connect(self._changed)
        self.min_faces.valueChanged.connect(self._changed)
        self.max_faces.valueChanged.connect(self._changed)
        self.sort.currentIndexChanged.connect(self._sort_changed)
        self.descending.toggled.connect(self._changed)
        self.descending.toggled.connect(self._update_order_button)

    # --- state <-> PhotoFilter ---

    def photo_filter(self) -> PhotoFilter:
        emotions = [e for e, cb in self.emotions.items() if cb.isChecked()]
        groups = [g for g, cb in self.groups.items() if cb.isChecked()]
        all_faces = self.every_face.isChecked() and bool(emotions or groups)
        min_smiles = None
        max_faces = self.max_faces.value() if self.max_faces.value() >= 0 else None
        smiles = self.smiles.currentData()
        if smiles == SMILES_ONE:
            min_smiles = 1
        elif smiles == SMILES_ALL:
            # "Everyone smiling" = every face happy. Combined with chosen expressions L: if L allows happy the
            # result is simply everyone smiling; otherwise no photo can match (an empty face range).
            labels = PhotoFilter(emotions=emotions, groups=groups).labels()
            if labels and "happy" not in labels:
                max_faces = 0
            emotions, groups, all_faces = ["happy"], [], True
        return PhotoFilter(
            emotions=emotions,
            groups=groups,
            all_faces=all_faces,
            min_faces=self.min_faces.value() if self.min_faces.value() >= 0 else None,
            max_faces=max_faces,
            min_smiles=min_smiles,
            picks=[k for k, cb in self.picks.items() if cb.isChecked()],
            errors=self.errors.isChecked(),
            name_contains=self.search.text().strip() or None,
            sort=self.sort.currentData(),
            descending=self._descending(),
        )

    def _descending(self) -> bool:
        natural = self.sort.currentData() in ("smile", "faces")
        return natural != self.descending.isChecked()

    def reset(self) -> None:
        self._loading = True
        try:
            for cb in [*self.groups.values(), *self.emotions.values(), self.every_face, *self.picks.values(), self.errors]:
                cb.setChecked(False)
            self.search.clear()
            self.smiles.setCurrentIndex(0)
            self.min_faces.setValue(-1)
            self.max_faces.setValue(-1)
        finally:
            self._loading = False
        self._changed()

    def set_emotions(self, emotions: list[str]) -> None:
        for e, cb in self.emotions.items():
            cb.setChecked(e in emotions)

    def set_count(self, shown: int, total: int | None = None) -> None:
        text = f"{shown:,} photo{'s' if shown != 1 else ''}"
        if total is not None and total != shown:
            text += f" of {total:,}"
        self.count_label.setText(text)

    # --- internals ---

    def _changed(self, *_):
        self.emotion_box.setTitle("Expressions (every face)" if self.every_face.isChecked() else "Expressions (any face)")
        if not self._loading:
            self._timer.start()

    def _sort_changed(self, *_):
        self._update_order_button()
        self._changed()

    def _update_order_button(self, *_):
        desc = self._descending()
        self.descending.setText("↓" if desc else "↑")
        self.descending.setToolTip("Descending (click for ascending)" if desc else "Ascending (click for descending)")
