#!/usr/bin/env bash
# Install what is needed and run Tessera's main job on the bundled sample data: the flagship
# model models/seamless_mosaic.model3 (global regression -> local block adjustment -> align
# -> seamlines -> mask -> feathered mosaic) on four overlapping tiles with radiometric
# differences (examples/data/tiles), through qgis_process, with worker processes.
# Prints where the mosaic is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/install.sh"
source "$ROOT/scripts/qgis_env.sh"

OUT="${1:-$ROOT/demo-output}"
mkdir -p "$OUT"
export TESSERA_EXECUTOR="${TESSERA_EXECUTOR:-processes}"
TILES=()
for tile in "$ROOT"/examples/data/tiles/tile_*.tif; do
  TILES+=("inputs=$tile")
done
"$QGIS_PROCESS" run "$ROOT/models/seamless_mosaic.model3" -- \
  "${TILES[@]}" feather=20 cog=true \
  seamlines:seamlines="$OUT/seamlines.gpkg" \
  mosaic:mosaic="$OUT/mosaic.tif"
rm -rf "$TESSERA_SANDBOX"

echo
echo "Tessera demo: a seamless mosaic of the four sample tiles"
echo "  mosaic (Cloud Optimized GeoTIFF): $OUT/mosaic.tif"
echo "  seamlines (one polygon per tile): $OUT/seamlines.gpkg"
echo "Open both in QGIS, or compare with the inputs: $ROOT/examples/data/tiles/"
