#!/usr/bin/env python3
"""Render screenshots of the window offscreen for the README: the grid (light and dark), the viewer and
the filter panel, with photos indexed from FOLDER into a real catalog; then a stack and the compare view from a
burst of the public-domain samples (screenshots_best_shot.py; those alone: --best-shot-only, no folder needed).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py ../shared/photos [--out docs/screenshots]

The catalog is a temporary file unless --catalog is given. Images are downscaled and palette-quantised so
each stays small (--max-kb, default 200) for committing.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def save_small(image, path: Path, max_kb: int, max_width: int) -> int:
    """Save a QImage as a PNG of at most `max_kb` (downscaling and quantising as needed)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    pil = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    width = min(max_width, pil.width)
    while True:
        scaled = (
            pil if width == pil.width else pil.resize((width, round(pil.height * width / pil.width)), Image.Resampling.LANCZOS)
        )
        out = io.BytesIO()
        scaled.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
        if out.tell() <= max_kb * 1024 or width < 400:
            path.write_bytes(out.getvalue())
            return out.tell()
        width = int(width * 0.9)


def pump(app, seconds: float, until=None) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", help="a folder of photos to index and show")
    parser.add_argument("--best-shot-only", action="store_true", help="only the stack and compare screenshots (no folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    parser.add_argument("--catalog", type=Path, help="catalog file (default: a temporary one)")
    parser.add_argument("--max-kb", type=int, default=200)
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=768)
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="albumsorter-shots-")
    os.environ.setdefault("ALBUMSORTER_STATE", str(Path(tmp.name) / "state.json"))
    os.environ.setdefault("ALBUMSORTER_THUMBNAILS", "")
    from PySide6.QtCore import QItemSelectionModel

    from albumsorter._qt.app import create_application
    from albumsorter._qt.main_window import MainWindow
    from albumsorter.core.catalog import PICK_PICKED, PICK_REJECTED, Catalog, PhotoFilter

    app = create_application()
    if args.best_shot_only or args.folder is None:
        if args.folder is None and not args.best_shot_only:
            parser.error("a folder of photos is needed (or --best-shot-only)")
        from screenshots_best_shot import render_best_shot

        render_best_shot(app, args.out, pump, save_small, args.width, args.height, args.max_kb)
        return 0
    window = MainWindow(thumbnail_cache_dir=None)
    window.resize(args.width, args.height)
    window.show()
    results = []
    window.indexing_finished.connect(results.append)
    catalog = args.catalog or Path(tmp.name) / "catalog.sqlite"
    if not window.open_folder(args.folder, catalog):
        print(f"cannot open {args.folder}", file=sys.stderr)
        return 1
    pump(app, 1800, until=lambda: bool(results))
    if results[0] is None:
        print(f"indexing failed: {window.last_error}", file=sys.stderr)
        return 1
    # The window reads and writes its catalog off the GUI thread; the script uses a connection of its own.
    cat = Catalog(catalog)
    # A few flags so the badges show: pick the two best group smiles, reject one without faces.
    best = cat.query(PhotoFilter(min_faces=2, min_smiles=1, sort="smile", limit=2))
    cat.set_pick([p.id for p in best], PICK_PICKED)
    cat.set_rating([p.id for p in cat.query(PhotoFilter(everyone_smiling="normal", limit=1))], 4)  # stars show too
    no_face = cat.query(PhotoFilter(max_faces=0, limit=1))
    cat.set_pick([p.id for p in no_face], PICK_REJECTED)
    window.refresh()
    pump(app, 30, until=lambda: not window.model.is_busy())
    args.out.mkdir(parents=True, exist_ok=True)

    def shot(widget, name: str) -> None:
        pump(app, 30, until=lambda: window.thumbnails.idle())
        pump(app, 0.3)
        size = save_small(widget.grab().toImage(), args.out / name, args.max_kb, args.width)
        print(f"{args.out / name}: {size / 1024:.0f} KB")

    window.grid.setCurrentIndex(window.model.index(0))
    window.grid.selectionModel().select(window.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    window.statusBar().clearMessage()
    shot(window, "main-window.png")
    window.set_theme("dark")
    shot(window, "main-window-dark.png")
    window.set_theme("light")

    # The viewer on the photo with the most faces among those with a smile (a group photo).
    group = cat.query(PhotoFilter(min_faces=2, min_smiles=1, sort="faces", limit=1)) or cat.query(
        PhotoFilter(min_faces=1, limit=1)
    )
    if group:
        window.open_viewer(group[0].id)
        pump(app, 20, until=lambda: window.viewer.full_loaded and window.viewer.faces_loaded)
        window.viewer._select_face(0)
        shot(window, "viewer.png")
        window.show_grid()

    # The filter panel, with the typical question: photos where everyone smiles, best first.
    panel = window.filter_panel
    panel.set_everyone_smiling("normal")
    pump(app, 0.5)
    pump(app, 30, until=lambda: not window.model.is_busy())
    shot(window.filter_dock, "filter-panel.png")
    shot(window, "main-window-filtered.png")
    cat.close()
    window.close()
    # The best shot (issue #11): a stack and the compare view, made from the public-domain samples (not FOLDER).
    from screenshots_best_shot import render_best_shot

    render_best_shot(app, args.out, pump, save_small, args.width, args.height, args.max_kb)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
