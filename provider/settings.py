"""Processing options of the provider, each overridable by an environment variable.

The environment wins over the stored option, so ``qgis_process`` users and
scripts choose the executor, workers and window without touching a profile.
"""

import os

from processing.core.ProcessingConfig import ProcessingConfig, Setting

from ..engine.errors import InvalidInputError
from ..engine.executors import EXECUTORS, Execution
from ..engine.raster_io import COMPRESSIONS, DEFAULT_COMPRESSION
from ..engine.requirements import DASK, dask_installed

GROUP = "Tessera"
EXECUTOR, WORKERS, WINDOW, PYTHON, COMPRESSION, DASK_SCHEDULER = (
    "TESSERA_EXECUTOR", "TESSERA_WORKERS", "TESSERA_WINDOW", "TESSERA_PYTHON",
    "TESSERA_COMPRESSION", "TESSERA_DASK_SCHEDULER")
DEFAULT_WINDOW = 512


def executor_help() -> str:
    """The executor option's label; says when the dask executor cannot be used here."""
    dask = ("dask runs on the Dask cluster at the scheduler address below" if dask_installed()
            else f"dask: not installed (apt-get install {DASK[2]} or pip install {DASK[1]})")
    return (f"Executor (serial runs in the QGIS process; processes uses worker processes; "
            f"{dask})")


def _settings():
    return (
        Setting(GROUP, EXECUTOR, executor_help(), "processes",
                valuetype=Setting.SELECTION, options=list(EXECUTORS)),
        Setting(GROUP, WORKERS, "Maximum number of worker processes (0 = all cores)", 0,
                valuetype=Setting.INT),
        Setting(GROUP, WINDOW, "Window size in pixels (memory per worker grows with its "
                               "square)", DEFAULT_WINDOW, valuetype=Setting.INT),
        Setting(GROUP, PYTHON, "Python interpreter for worker processes (empty = found "
                               "automatically)", "", valuetype=Setting.FILE),
        Setting(GROUP, COMPRESSION, "Compression of output rasters (zstd is fastest; deflate "
                                    "suits software whose GDAL lacks zstd)",
                DEFAULT_COMPRESSION, valuetype=Setting.SELECTION, options=list(COMPRESSIONS)),
        Setting(GROUP, DASK_SCHEDULER, "Dask scheduler address for the dask executor (e.g. "
                                       "tcp://192.168.1.10:8786; workers must reach the inputs "
                                       "by the same paths)", "", valuetype=Setting.STRING),
    )


def register() -> None:
    for setting in _settings():
        ProcessingConfig.addSetting(setting)
    ProcessingConfig.readSettings()


def unregister() -> None:
    for setting in _settings():
        ProcessingConfig.removeSetting(setting.name)


def _value(name: str):
    from_env = os.environ.get(name)
    if from_env not in (None, ""):
        return from_env
    return ProcessingConfig.getSetting(name, readable=True)


def _integer(name: str, value, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum:
        raise InvalidInputError(
            f"setting {name} = '{value}' is not a whole number of at least {minimum}: "
            f"fix it in Settings > Options > Processing > Providers > Tessera or in the "
            f"environment variable {name}")
    return number


def execution() -> Execution:
    """The Execution the current options (and environment) ask for."""
    executor = str(_value(EXECUTOR) or "processes")
    workers = _integer(WORKERS, _value(WORKERS) or 0, 0)
    window = _integer(WINDOW, _value(WINDOW) or DEFAULT_WINDOW, 1)
    python = _value(PYTHON) or None
    compression = str(_value(COMPRESSION) or DEFAULT_COMPRESSION)
    scheduler = str(_value(DASK_SCHEDULER) or "").strip() or None
    return Execution(executor=executor, workers=workers or None, window_size=window,
                     python=python, compression=compression, scheduler=scheduler)
