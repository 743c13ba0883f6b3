#!/usr/bin/env bash
# Install what Tessera needs on Debian 12 (QGIS 3.22 and the engine's packages). Idempotent.
set -euo pipefail

PACKAGES=(qgis python3-qgis qgis-providers
          python3-numpy python3-rasterio python3-scipy python3-opencv python3-shapely
          python3-pyproj python3-geopandas python3-matplotlib
          python3-pytest python3-hypothesis python3-psutil python3-venv gdal-bin
          python3-distributed)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
echo "Tessera's system packages are installed."
