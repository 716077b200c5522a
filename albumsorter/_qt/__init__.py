"""The desktop window (PySide6). Nothing in albumsorter.core imports this package.

Modules, each small:
  app.py             run_app(): the QApplication, theme, command-line folder
  main_window.py     the window: wires the rooms below together (no query or write of its own)
  tasks.py           the one task runner: lanes on one QThreadPool, callbacks on the GUI thread
  catalog_session.py catalog reads (read-only connection) and writes off the GUI thread; catalog_changed
  photo_model.py     QAbstractListModel over the catalog's filtered query (off-thread, diffed refreshes)
  grid.py            the thumbnail grid (QListView in icon mode), zoom steps
  delegate.py        paints one grid cell: thumbnail and badges (faces, smiles, pick/reject)
  thumbnails.py      thumbnail decoding in the runner's thumbnails lane, LRU memory cache, disk cache
  filter_panel.py    the filter dock: widgets -> core PhotoFilter
  viewer.py          one photo upright with its faces; navigation and corrections
  photo_canvas.py    the viewer's image view: the photo with face boxes and labels
  face_panel.py      the viewer's side panel: probability bars per face; the correction menu
  indexing.py        the index run (index lane), its progress bar, batches announced to the session
  actions.py         menus and their actions, the help dialog
  shortcuts.py       the one table of keyboard shortcuts (menus, viewer keys and help are built from it)
  status_bar.py      counts, unreadable photos, model, device, catalog
  export_dialog.py   "Export picks..." in the export lane with a progress dialog
  errors_panel.py    the dock listing photos that could not be read
  theme.py           light / dark / follow the system
"""
