"""The People dock: one row per person (a few of their faces, the name, how many faces and photos), named people
first, then unnamed ones with the most faces first. Double-click (or F2) a row to name the person in place; drag
a row onto another to say they are one person (an Undo bar follows); select a row to see that person's photos
(the window combines it with the other filters). Above the list: a "maybe the same person" question to answer,
and the progress of "Find people".

The panel only shows and asks: it emits what the user wants (signals) and is given what to show (`set_people`,
`set_suggestion`, `set_face_image`); reading and writing the catalog is `people_room`'s job."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDropEvent, QImage, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from albumsorter.core.catalog.people_store import PersonSummary

FACE_SIDE = 44  # px, one face thumbnail in a row
FACES_SHOWN = 5
NAME_HEIGHT = 22
PERSON_ROLE = Qt.ItemDataRole.UserRole + 1
UNNAMED = "Unnamed — double-click to name"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def person_title(person: PersonSummary) -> str:
    return person.name or f"Person {person.id}"


class _PersonDelegate(QStyledItemDelegate):
    """Paints a row: the name (or a hint to name the person) and counts on top, face thumbnails below; the
    name editor sits over the name line."""

    def __init__(self, faces: dict[int, QPixmap], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faces = faces

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(FACES_SHOWN * (FACE_SIDE + 4) + 8, NAME_HEIGHT + FACE_SIDE + 10)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        person: PersonSummary | None = index.data(PERSON_ROLE)
        if person is None:
            return super().paint(painter, option, index)
        painter.save()
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        rect = option.rect.adjusted(4, 2, -4, -2)
        name_rect = QRect(rect.left(), rect.top(), rect.width(), NAME_HEIGHT)
        counts = f"{_plural(person.faces, 'face')} · {_plural(person.photos, 'photo')}"
        font = painter.font()
        painter.setPen(text_colour)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, counts)
        room = name_rect.width() - painter.fontMetrics().horizontalAdvance(counts) - 8  # the name never covers the counts
        font.setBold(bool(person.name))
        font.setItalic(not person.name)
        painter.setFont(font)
        if not person.name:
            hint = QColor(text_colour)
            hint.setAlpha(150)
            painter.setPen(hint)
        text = painter.fontMetrics().elidedText(person.name or UNNAMED, Qt.TextElideMode.ElideRight, max(0, room))
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        x, y = rect.left(), rect.top() + NAME_HEIGHT + 2
        for sample in person.samples[:FACES_SHOWN]:
            target = QRect(x, y, FACE_SIDE, FACE_SIDE)
            pixmap = self.faces.get(sample.face_id)
            if pixmap is not None and not pixmap.isNull():
                painter.drawPixmap(target, pixmap)
            else:
                painter.fillRect(target, QColor(128, 128, 128, 90))
            x += FACE_SIDE + 4
        painter.restore()

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        rect = option.rect.adjusted(2, 2, -2, -2)
        editor.setGeometry(QRect(rect.left(), rect.top(), rect.width() * 2 // 3, NAME_HEIGHT))


class PersonList(QListWidget):
    """The rows. Dropping one row on another emits merge_requested(kept, merged): the row dropped on stays."""

    merge_requested = Signal(int, int)

    def __init__(self, faces: dict[int, QPixmap], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PeopleList")
        self.setItemDelegate(_PersonDelegate(faces, self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setUniformItemSizes(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def person_at(self, row: int) -> PersonSummary | None:
        item = self.item(row)
        return item.data(PERSON_ROLE) if item is not None else None

    def dropEvent(self, event: QDropEvent) -> None:
        source = self.currentItem()
        target = self.itemAt(event.position().toPoint())
        event.setDropAction(Qt.DropAction.IgnoreAction)  # never move or copy the row itself
        event.accept()
        if source is None or target is None or source is target:
            return
        kept, merged = target.data(PERSON_ROLE), source.data(PERSON_ROLE)
        if kept is not None and merged is not None:
            self.merge_requested.emit(kept.id, merged.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.currentItem() is not None and self.state() != self.State.EditingState:
            self.clearSelection()
            self.setCurrentItem(None)
            return
        super().keyPressEvent(event)


class _Question(QFrame):
    """A bar with a question (a few words, faces) and two answers."""

    def __init__(self, yes: str, no: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.pictures = QHBoxLayout()  # faces shown with the question
        self.pictures.setSpacing(4)
        self.yes = QPushButton(yes)
        self.no = QPushButton(no)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.no)
        buttons.addWidget(self.yes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.text)
        layout.addLayout(self.pictures)
        layout.addLayout(buttons)


class PeoplePanel(QWidget):
    """Signals: person_selected(person id or None), rename_requested(id, name), merge_requested(kept, merged),
    suggestion_answered(suggestion, same: bool), undo_requested(), find_requested(), cancel_requested()."""

    person_selected = Signal(object)
    rename_requested = Signal(int, str)
    merge_requested = Signal(int, int)
    suggestion_answered = Signal(object, bool)
    undo_requested = Signal()
    find_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PeoplePanel")
        self.people: list[PersonSummary] = []
        self.faces: dict[int, QPixmap] = {}  # face id -> thumbnail
        self.suggestion = None  # the "maybe the same person" shown (a clustering.Suggestion)
        self.question_faces: dict[int, QLabel] = {}
        self._selected: int | None = None
        self._waiting: list[PersonSummary] | None = None  # arrived while a name was being edited

        self.summary = QLabel("No people yet.")
        self.summary.setWordWrap(True)
        self.find_button = QPushButton("Find People")
        self.find_button.setToolTip("Recognise the same person across photos (runs in the background)")
        self.find_button.clicked.connect(self.find_requested)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.show_all = QPushButton("Show Everyone")
        self.show_all.setToolTip("Stop filtering by person (Esc in the list)")
        self.show_all.clicked.connect(self.clear_selection)
        self.question = _Question("Same Person", "Not the Same")
        self.question.yes.clicked.connect(lambda: self._answer(True))
        self.question.no.clicked.connect(lambda: self._answer(False))
        self.undo_bar = _Question("Undo", "OK")
        self.undo_bar.yes.clicked.connect(self._undo)
        self.undo_bar.no.clicked.connect(self.undo_bar.hide)
        self.list = PersonList(self.faces)
        self.list.merge_requested.connect(self.merge_requested)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemDelegate().closeEditor.connect(lambda *_: self._editing_done())

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.find_button)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        self.running = QWidget()
        self.running.setLayout(running)
        running.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.running)
        layout.addWidget(self.question)
        layout.addWidget(self.undo_bar)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.show_all)
        for hidden in (self.running, self.question, self.undo_bar):
            hidden.hide()
        self.show_all.setEnabled(False)

    # --- what to show ---

    def set_people(self, people: list[PersonSummary]) -> None:
        """The rows (in the order given); keeps the selection when the person is still there."""
        if self.list.state() == QAbstractItemView.State.EditingState:
            self._waiting = list(people)  # rebuilding now would throw the user's typing away
            return
        self.people = list(people)
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for person in self.people:
                item = QListWidgetItem(person.name or "")
                item.setData(PERSON_ROLE, person)
                item.setToolTip(f"{person_title(person)}: {_plural(person.faces, 'face')} in {_plural(person.photos, 'photo')}")
                flags = item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
                item.setFlags(flags)
                self.list.addItem(item)
                if person.id == self._selected:
                    item.setSelected(True)
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        if self._selected is not None and all(p.id != self._selected for p in self.people):
            self.clear_selection()  # merged away or gone
        named = sum(1 for p in self.people if p.name)
        self.summary.setText(
            f"{_plural(len(self.people), 'person').replace('persons', 'people')}, {named} named"
            if self.people
            else "No people yet."
        )

    def set_face_image(self, face_id: int, image: QImage) -> None:
        if face_id in self.faces:
            return  # a face's thumbnail never changes (re-detection gives new faces new ids)
        self.faces[face_id] = QPixmap.fromImage(image)
        if face_id in self.question_faces:
            self.question_faces[face_id].setPixmap(self.faces[face_id])
        self.list.viewport().update()

    def set_suggestion(self, suggestion, text: str, face_ids: list[int] | None = None) -> None:
        """Ask "maybe the same person" (None: nothing to ask), showing these faces."""
        self.suggestion = suggestion
        self.question.text.setText(text)
        while self.question.pictures.count():
            widget = self.question.pictures.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.question_faces = {}
        for face_id in face_ids or []:
            label = QLabel()
            label.setFixedSize(FACE_SIDE, FACE_SIDE)
            label.setScaledContents(True)
            label.setStyleSheet("background: rgba(128, 128, 128, 90)")
            self.question.pictures.addWidget(label)
            self.question_faces[face_id] = label
            if face_id in self.faces:
                label.setPixmap(self.faces[face_id])
        self.question.pictures.addStretch(1)
        self.question.setVisible(suggestion is not None)
        if suggestion is not None:
            same = "Same Person" if suggestion.kind == "people" else "Yes"
            other = "Not the Same" if suggestion.kind == "people" else "No"
            self.question.yes.setText(same)
            self.question.no.setText(other)

    def show_undo(self, text: str | None) -> None:
        self.undo_bar.text.setText(text or "")
        self.undo_bar.setVisible(bool(text))

    def show_progress(self, done: int | None, total: int | None, text: str = "") -> None:
        """The "Find people" run: done of total photos (None: not running; total 0: busy without a count)."""
        running = done is not None
        self.running.setVisible(running)
        self.find_button.setEnabled(not running)
        if running:
            self.progress.setRange(0, max(0, total or 0))
            self.progress.setValue(done or 0)
            self.progress.setFormat(text or "%v of %m photos")

    # --- selection = the person filter ---

    def selected_person(self) -> int | None:
        return self._selected

    def select_person(self, person_id: int | None) -> None:
        for row in range(self.list.count()):
            person = self.list.person_at(row)
            if person is not None and person.id == person_id:
                self.list.setCurrentRow(row)
                return
        self.clear_selection()

    def clear_selection(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentItem(None)
        if self._selected is not None:
            self._selected = None
            self.show_all.setEnabled(False)
            self.person_selected.emit(None)

    def _selection_changed(self) -> None:
        items = self.list.selectedItems()
        person = items[0].data(PERSON_ROLE) if items else None
        chosen = person.id if person is not None else None
        if chosen != self._selected:
            self._selected = chosen
            self.show_all.setEnabled(chosen is not None)
            self.person_selected.emit(chosen)

    # --- naming in place ---

    def rename(self, row: int) -> None:
        """Open the name editor on a row (as double-click or F2 does)."""
        self.list.editItem(self.list.item(row))

    def _item_changed(self, item: QListWidgetItem) -> None:
        person: PersonSummary | None = item.data(PERSON_ROLE)
        name = " ".join(item.text().split())
        if person is not None and name != (person.name or ""):
            self.rename_requested.emit(person.id, name)

    def _editing_done(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.set_people(waiting)

    def _answer(self, same: bool) -> None:
        suggestion = self.suggestion
        self.set_suggestion(None, "")
        if suggestion is not None:
            self.suggestion_answered.emit(suggestion, same)

    def _undo(self) -> None:
        self.show_undo(None)
        self.undo_requested.emit()
