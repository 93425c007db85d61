"""One shallow exception tree for the whole project.

The CLI turns any `HPORecommendError` into a one-line message and the class's `exit_code`:
2 for a user's bad input (usage, files, values), 1 for a failure of the tool itself.
Messages state the rule and the values that broke it, e.g.
"learning_rate must be > 0 and <= 100, but got -1.0".
"""

from __future__ import annotations


class HPORecommendError(Exception):
    """Base class of every error hpo-recommend raises on purpose."""

    exit_code = 1


class InputError(HPORecommendError, ValueError):
    """The user's input (a file, a column, a value, an argument) is invalid."""

    exit_code = 2


class DataError(InputError):
    """A data file cannot be used: missing, empty, unparsable, or a bad target column."""


class ConfigError(InputError):
    """A hyperparameter configuration has a missing, unknown, out-of-range or mistyped value."""


class SpaceError(InputError):
    """A search-space definition is malformed."""


class NotFoundError(InputError):
    """A named thing (dataset id, study id, run id) is not in the knowledge base."""


class KnowledgeBaseError(HPORecommendError):
    """The knowledge base cannot be opened, read or written."""


class DamagedKnowledgeBaseError(KnowledgeBaseError):
    """The knowledge base file's bytes are damaged (truncated, overwritten): it cannot be read."""


class SchemaVersionError(KnowledgeBaseError):
    """The knowledge base file was written by a newer version, or is not a knowledge base."""

    exit_code = 2
