"""The one exception type users see: a one-line message naming the file or field and the fix."""


class DreamroomsError(Exception):
    """A user-facing failure; the CLI prints it as one line and exits 1."""


class ShotError(DreamroomsError):
    """shot.json is missing, malformed, or disagrees with the files on disk."""


class ExrError(DreamroomsError):
    """An EXR file cannot be read or written, or lacks a channel."""


class DepthError(DreamroomsError):
    """The depth stage cannot run as asked (bad frame range, shot mismatch, settings clash)."""


class ModelError(DreamroomsError):
    """A model is unknown, not installed, of the wrong kind, or its file disagrees with its manifest."""
