"""The one exception type users see: a one-line message naming the file or field and the fix."""


class DreamroomsError(Exception):
    """A user-facing failure; the CLI prints it as one line and exits 1."""


class ShotError(DreamroomsError):
    """shot.json is missing, malformed, or disagrees with the files on disk."""


class ExrError(DreamroomsError):
    """An EXR file cannot be read or written, or lacks a channel."""
