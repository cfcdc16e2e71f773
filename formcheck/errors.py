"""Exception types. Each message says what happened and what to do next."""


class FormcheckError(Exception):
    """Base class for problems the user can act on (shown without a traceback)."""

    exit_code = 2


class ConfigError(FormcheckError, ValueError):
    """An invalid configuration value or file."""


class SourceError(FormcheckError):
    """A video file or camera that cannot be read."""


class ModelError(FormcheckError):
    """The pose model is missing, corrupt or cannot be fetched."""


class AnalysisError(FormcheckError):
    """The clip was read but could not be analysed (no person, wrong view...)."""

    exit_code = 3


class OutputError(FormcheckError):
    """An output file or folder that cannot be written (permission, full disk...)."""


class VideoWriteError(OutputError):
    """The annotated video cannot be written (codec, folder, disk)."""
