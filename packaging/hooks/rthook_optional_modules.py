# PyInstaller runtime hook: stand-ins for optional libraries the bundle leaves out.
#
# MediaPipe's `vision` package imports `drawing_utils`, which does `import matplotlib.pyplot` at module level
# although only its drawing helpers (never used by AlbumSorter) need it. Matplotlib and its dependencies are not
# bundled (~60 MB); this hook answers `import matplotlib...` with empty modules that raise a clear error only if
# something actually uses them. A real matplotlib, if bundled one day, wins: this finder runs last.
import importlib.abc
import importlib.machinery
import sys
import types

_STUBBED = ("matplotlib", "mpl_toolkits")


class _Stub(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise AttributeError(f"{self.__name__}.{attr}: {self.__name__.split('.')[0]} is not bundled with AlbumSorter")


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Stub(spec.name)
        module.__path__ = []
        module.__albumsorter_stub__ = True
        return module

    def exec_module(self, module):
        pass


sys.meta_path.append(_StubFinder())
