"""The errors a user can cause and fix: a config value, a data file, a flag, a path.

Each is raised with one line that names the key, file, column, row or value and what would work; the
entry scripts print that line and exit with code 2 (cli.py). Anything else is a bug, and keeps its traceback.
"""


class UserError(ValueError):
    """A mistake in the config, the data, the flags or the paths; the message names it."""


class ConfigError(UserError):
    """A config value that cannot work; the message names the key."""


class DataError(UserError):
    """Data that cannot serve the config as it stands; the message names the file, column or row."""


class DiskError(UserError):
    """A write the machine refused (a full disk, a read-only folder, a permission); the message names the path."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; raised before it could reach the weights."""
