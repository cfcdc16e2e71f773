"""Exception types. Each message says what happened and what to do next."""

import errno


def os_error_reason(e: OSError) -> str:
    """A failed write's cause in a few words (permission denied, the disk is full...)."""
    return {
        errno.EACCES: "permission denied", errno.EPERM: "permission denied",
        errno.EROFS: "the folder is read-only", errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded", errno.EISDIR: "a folder has that name",
        errno.ENOTDIR: "a file is in the way of its folder",
    }.get(e.errno, e.strerror or str(e))


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
