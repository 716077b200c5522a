"""AlbumSorter: find the photos worth keeping by reading the faces in them."""

__version__ = "0.1.0"
