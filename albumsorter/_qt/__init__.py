"""The desktop window (PySide6). Nothing in albumsorter.core imports this package.

Modules, each small:
  app.py             run_app(): the QApplication, theme, command-line folder
  main_window.py     the window: wires the rooms below together (no query or write of its own)
  tasks.py           the one task runner: lanes on one QThreadPool, callbacks on the GUI thread
  catalog_session.py catalog reads (read-only connection) and writes off the GUI thread; catalog_changed
  photo_model.py     QAbstractListModel over the catalog's filtered query (off-thread, diffed refreshes)
  grid.py            the thumbnail grid (QListView in icon mode), zoom steps, keeping its place, the empty state
  delegate.py        paints one grid cell: thumbnail and badges (faces, smiles, stars, pick/reject)
  thumbnails.py      thumbnail decoding in the runner's thumbnails lane, LRU memory cache, disk cache
  filter_panel.py    the filter dock: widgets -> core PhotoFilter
  viewer.py          one photo upright with its faces; navigation, pick / reject / stars, face edits
  photo_canvas.py    the viewer's image view: the photo with face boxes and labels; zoom, pan, drawing a face
  face_list.py       the viewer's compact face list (a crop, number, expression per line; sortable)
  face_panel.py      the selected face in full: probability bars, its story in words, its buttons
  face_style.py      how a face is shown (counts or not, unsure, colour, words) and the face menu
  face_scoring.py    a face the user drew: scored by the core in the face-scoring lane, then stored
  indexing.py        the index run (index lane), its progress bar, pause, batches announced to the session
  actions.py         menus, the toolbar and their actions, the help dialog
  shortcuts.py       the one table of keyboard shortcuts (menus, viewer keys and help are built from it)
  status_bar.py      photos shown, picks, selection, unreadable photos
  about.py           Help → About: version, model, runtime, catalog
  sidecar_setting.py "Write XMP Sidecars as I Work" (off by default) and the naming of new sidecars
  export_dialog.py   "Export picks..." in the export lane with a progress dialog; the bar with Open Folder
  errors_panel.py    the dock listing photos that could not be read
  theme.py           light / dark / follow the system; check boxes visible on dark palettes
  best_shot_room.py  the best shot (#11): stacks toggle, filters section, compare, pick the keepers, split / merge
  stacks.py          groups of bursts shown as stacks (keeper on top) over the grid's rows
  best_shot_badges.py  closed-eye and blur badges on a thumbnail
  best_shot_filters.py the "Best shot" section of the filter panel
  compare_view.py    two to four photos side by side, zoom and pan in sync, P / X / stars on each
  compare_pane.py    one photo of the compare view
  face_quality_words.py eyes, smile, sharpness, pose of a face in words
  people_room.py     People (#14): the dock, menu, Find People in the background, the person filter
  people_panel.py    the People dock's widgets: persons, naming in place, merge by drag and drop, suggestions
  improve_room.py    Model → Improve the Model from My Corrections / Revert (#12), in the background
"""
