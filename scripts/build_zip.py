"""Build the installable plugin zip: dist/tessera-<version>.zip with one folder ``tessera/``.

Only what QGIS needs goes in: no tests, benchmarks, examples, scripts or CI files.
Usage: python3 scripts/build_zip.py
"""

import configparser
import os
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("metadata.txt", "__init__.py", "plugin.py", "LICENSE", "README.md")
FOLDERS = ("provider", "algorithms", "engine", "icons", "models")


def _members():
    for name in FILES:
        yield name
    for folder in FOLDERS:
        for base, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if not name.endswith((".pyc", ".pyo")):
                    yield os.path.relpath(os.path.join(base, name), ROOT)


def build() -> str:
    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(ROOT, "metadata.txt"))
    version = metadata["general"]["version"]
    os.makedirs(os.path.join(ROOT, "dist"), exist_ok=True)
    target = os.path.join(ROOT, "dist", f"tessera-{version}.zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in _members():
            archive.write(os.path.join(ROOT, member), os.path.join("tessera", member))
    return target


if __name__ == "__main__":
    print(build())
