"""The app's core: everything except the GUI. Nothing in this package may import Qt."""
