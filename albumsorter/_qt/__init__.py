"""The desktop window (PySide6). Nothing in albumsorter.core imports this package.

Modules, each small:
  app.py            run_app(): the QApplication, theme, command-line folder
  main_window.py    the window: menus, grid, docks, status bar; wires everything together
  photo_model.py    QAbstractListModel over the catalog's filtered query (batched, diffed refreshes)
  thumbnails.py     off-GUI-thread thumbnail decoding (QThreadPool), LRU memory cache, disk cache
  delegate.py       paints one grid cell: thumbnail and badges (faces, smiles, pick/reject)
  filter_panel.py   the filter dock: widgets -> core PhotoFilter
  viewer.py         one photo upright with face boxes, labels, probability bars; corrections
  workers.py        QObject workers (indexing, export) with progress/finished/failed signals
  export_dialog.py  "Export picks..." progress dialog
  errors_panel.py   the dock listing photos that could not be read
  theme.py          light / dark / follow the system
"""
