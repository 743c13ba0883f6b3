"""The engine as a zip that Dask workers import, named for its exact contents.

The zip holds the engine under the package name it has here (``tessera``)
with a generated package ``__init__`` in place of the plugin's. Its file name
carries a fingerprint of every engine source, so a worker can tell which
version it runs, and that ``__init__`` drops whatever modules of the package
the worker loaded before: after an upload, a stale engine is never used.
"""

import functools
import hashlib
import os
import zipfile
from typing import Iterator, Tuple

PACKAGE = __name__.split(".")[0]
ENGINE = __name__.rsplit(".", 1)[0]
_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))

_INIT = '''"""Tessera's raster engine as shipped to Dask workers (version {fingerprint}).

Loading (or reloading) this package drops the modules of any other version
this worker imported before, so they are imported afresh from this zip.
"""

import sys

for _name in [name for name in sys.modules if name.startswith(__name__ + ".")]:
    del sys.modules[_name]
'''


def _sources() -> Iterator[Tuple[str, bytes]]:
    """(path inside the package, bytes) of every engine source, in a fixed order."""
    for folder, children, files in sorted(os.walk(_ENGINE_DIR)):
        children[:] = sorted(child for child in children if child != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                inside = os.path.relpath(path, os.path.dirname(_ENGINE_DIR))
                with open(path, "rb") as handle:
                    yield inside.replace(os.sep, "/"), handle.read()


@functools.lru_cache(maxsize=None)
def fingerprint() -> str:
    """A short hash of the engine's sources: equal exactly when the code is (computed
    once: the sources of a running engine do not change)."""
    digest = hashlib.sha256()
    for inside, data in _sources():
        digest.update(inside.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def zip_name() -> str:
    """The file name of this engine's zip (workers keep it under that name)."""
    return f"{PACKAGE}-engine-{fingerprint()}.zip"


def build_zip(folder: str) -> str:
    """Write this engine's zip into ``folder``; return its path."""
    path = os.path.join(folder, zip_name())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{PACKAGE}/__init__.py", _INIT.format(fingerprint=fingerprint()))
        for inside, data in _sources():
            archive.writestr(f"{PACKAGE}/{inside}", data)
    return path
