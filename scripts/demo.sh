#!/usr/bin/env bash
# Install what is needed and run Tessera's main job on the bundled sample data:
# the model band math (NDVI) -> focal statistics (circular mean) -> footprints,
# through qgis_process, with worker processes. Prints where the outputs are.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/install.sh"
source "$ROOT/scripts/qgis_env.sh"

OUT="${1:-$ROOT/demo-output}"
mkdir -p "$OUT"
export TESSERA_EXECUTOR="${TESSERA_EXECUTOR:-processes}"
"$QGIS_PROCESS" run "$ROOT/models/bandmath_focal_footprints.model3" -- \
  input="$ROOT/examples/data/worldview3_2016-09-30.tif" \
  expression='(b7 - b5) / (b7 + b5)' radius=2 \
  bandmath:index="$OUT/ndvi.tif" \
  focal:smoothed="$OUT/ndvi_mean_r2.tif" \
  footprints:footprints="$OUT/footprint.gpkg"
rm -rf "$TESSERA_SANDBOX"

echo
echo "Tessera demo outputs:"
echo "  NDVI (band math):               $OUT/ndvi.tif"
echo "  NDVI circular mean r=2 (focal): $OUT/ndvi_mean_r2.tif"
echo "  valid-data footprint:           $OUT/footprint.gpkg"
