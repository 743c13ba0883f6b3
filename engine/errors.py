"""The engine's one exception family.

Every problem a user can fix is raised as a subclass of :class:`EngineError`
whose message says what was given, what is allowed and what to do. Each class
is also a builtin exception (``ValueError``, ``FileNotFoundError``...) so plain
Python callers can catch what they already know. The QGIS side translates the
whole family into ``QgsProcessingException`` in one place.
"""


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidInputError(EngineError, ValueError):
    """An input or parameter cannot be used as given."""


class MissingInputError(EngineError, FileNotFoundError):
    """An input file does not exist or cannot be opened."""


class GridMismatchError(InvalidInputError):
    """Inputs that must share one pixel grid do not."""


class ExpressionError(InvalidInputError):
    """A user expression is malformed, unsafe or reads something absent."""


class WorkerError(EngineError, RuntimeError):
    """Worker processes could not be started or died."""


class Cancelled(EngineError):
    """The user cancelled the run; nothing was written."""


def check_choice(value, choices, what: str):
    """``value`` if it is one of ``choices``, else an error naming ``what`` and listing them."""
    if value not in choices:
        raise InvalidInputError(f"{what} '{value}' is unknown: choose one of "
                                f"{', '.join(str(choice) for choice in choices)}")
    return value
