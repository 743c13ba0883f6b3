# Source this: a headless, isolated qgis_process with the checkout enabled as plugin 'tessera'.
# Sets QGIS_PROCESS (the command) and TESSERA_SANDBOX (the temporary folder it uses).
TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESSERA_SANDBOX="$(mktemp -d -t tessera-qgis-XXXXXX)"
mkdir -p "$TESSERA_SANDBOX/plugins" "$TESSERA_SANDBOX/runtime"
chmod 700 "$TESSERA_SANDBOX/runtime"
ln -s "$TESSERA_ROOT" "$TESSERA_SANDBOX/plugins/tessera"
export QT_QPA_PLATFORM=offscreen QGIS_OPTS=
# QGIS computes a histogram of every input it loads, and GDAL would save it as
# <input>.aux.xml beside the input: inputs are never written.
export GDAL_PAM_ENABLED=NO
export XDG_RUNTIME_DIR="$TESSERA_SANDBOX/runtime" XDG_CONFIG_HOME="$TESSERA_SANDBOX/config"
export XDG_DATA_HOME="$TESSERA_SANDBOX/data" QGIS_CUSTOM_CONFIG_PATH="$TESSERA_SANDBOX/profile"
export QGIS_PLUGINPATH="$TESSERA_SANDBOX/plugins"
QGIS_PROCESS=/usr/bin/qgis_process.bin
"$QGIS_PROCESS" plugins enable tessera >/dev/null 2>&1
