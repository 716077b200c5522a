"""AlbumSorter training: retrain the expression classifier (thesis §5.3-7) and install it as the app's default.

Run `python -m training --help`. Needs the `train` extras (TensorFlow, matplotlib, scipy).
"""
