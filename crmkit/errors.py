"""The one exception type users see: its message is the whole user interface of a failure."""


class CrmkitError(Exception):
    """A problem with the user's input or environment, explained in plain words (no traceback)."""
