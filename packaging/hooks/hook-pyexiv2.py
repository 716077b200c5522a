# PyInstaller hook for pyexiv2 (XMP sidecars: albumsorter/core/xmp). pyinstaller-hooks-contrib has none.
#
# pyexiv2/lib/__init__.py loads the exiv2 library itself, by path, with ctypes, before importing its extension
# module: ctypes.CDLL(os.path.join(os.path.dirname(__file__), "libexiv2.so" | "libexiv2.dylib" | "exiv2.dll")).
# The import analysis finds the extension (pyexiv2.lib.exiv2api) but not that library, and the extension's own link
# to it (libexiv2.so.28 on Linux) does not resolve on the build machine either. So the library is collected here, into
# pyexiv2/lib/ where that code looks for it (collect_dynamic_libs keeps the package's folder layout).
from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("pyexiv2")
hiddenimports = ["pyexiv2.lib.exiv2api"]
