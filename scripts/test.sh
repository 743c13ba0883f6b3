#!/usr/bin/env bash
# Install everything and run all tests:
#  1. the whole suite (engine, PyQGIS and qgis_process end-to-end) with Debian's QGIS 3.22
#     and Debian's packages (numpy 1.24, shapely 1.8, rasterio 1.3);
#  2. the engine suite again in a venv with the newest PyPI wheels (numpy 2, shapely 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/install.sh"

cd "$ROOT"
echo "== Debian packages: all tests"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests

VENV="${TESSERA_PYPI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/venv-pypi}"
echo "== newest PyPI wheels: engine tests (venv $VENV)"
[ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade \
  -r "$ROOT/tests/requirements-pypi.txt"
"$VENV/bin/python" -c "import numpy, rasterio, shapely; print('numpy', numpy.__version__, \
'rasterio', rasterio.__version__, 'shapely', shapely.__version__)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/engine
