"""The README's best-shot screenshots, rendered by scripts/screenshots.py (after its own, or alone with
--best-shot-only): a stack in the grid and the compare view, from a burst made of the public-domain samples in
resources/samples (tests/sample_burst.py: group.jpg shot five times, one frame blinking, one blurred, one darker; a
portrait with a re-saved copy; a photo without faces). Nothing from ../shared.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py --best-shot-only [--out docs/screenshots]

The album is indexed by the real pipeline into a temporary catalog; the window then shows it as a user sees it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path


def render_best_shot(app, out: Path, pump: Callable, save_small: Callable, width: int = 1366, height: int = 768,
                     max_kb: int = 200) -> list[Path]:  # fmt: skip
    """best-shot-stacks.png (the burst's stack open in the grid, the portrait's closed) and compare.png (the burst's
    best four frames side by side, zoomed to the blinking face). `pump` and `save_small`: screenshots.py's."""
    from albumsorter._qt.main_window import MainWindow
    from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog
    from tests.sample_burst import index_album, make_sample_album

    tmp = tempfile.TemporaryDirectory(prefix="albumsorter-best-shot-")
    folder, catalog_path = Path(tmp.name) / "Holiday", Path(tmp.name) / "catalog.sqlite"
    frames = make_sample_album(folder)
    summary = index_album(folder, catalog_path)
    if summary.errors:
        raise RuntimeError(f"indexing the sample album failed: {summary.errors}")
    with Catalog(catalog_path) as catalog:  # a reject so its badge shows: the blurred frame
        blurred = next(p for p in catalog.query() if p.path == str(frames["burst"][3].path))
        catalog.set_pick([blurred.id], PICK_REJECTED)
        burst = blurred.group_id
    window = MainWindow(thumbnail_cache_dir=None)
    window.resize(width, height)
    window.show()
    window.open_catalog(catalog_path, folder)
    pump(app, 30, until=lambda: not window.model.is_busy() and window.model.rowCount() > 0)
    room = window.best_shot
    room.set_stacks(True, remember=False)
    room.toggle_stack(burst)
    pump(app, 30, until=lambda: not window.model.is_busy())
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def shot(widget, name: str) -> None:
        pump(app, 30, until=lambda: window.thumbnails.idle())
        pump(app, 0.3)
        size = save_small(widget.grab().toImage(), out / name, max_kb, width)
        print(f"{out / name}: {size / 1024:.0f} KB")
        written.append(out / name)

    window.grid.zoom(1)  # 200 px thumbnails: the badges readable in the README
    top = next(r for r in window.model.records() if r.group_id == burst)
    window.grid.make_current(top.id, select=True)
    window.statusBar().clearMessage()
    shot(window, "best-shot-stacks.png")

    room.open_compare()
    pump(app, 30, until=lambda: room.compare.is_loaded())
    room.compare.zoom_to_face()  # the left face: the one that blinks in one frame
    pump(app, 30, until=lambda: room.compare.is_loaded())
    room.compare.set_pick(room.compare.ids[0], PICK_PICKED)  # the keeper, picked from here
    pump(app, 30, until=lambda: room.compare.panes[0].pick_button.isChecked())
    window.statusBar().clearMessage()
    shot(window, "compare.png")
    window.close()
    tmp.cleanup()
    return written
