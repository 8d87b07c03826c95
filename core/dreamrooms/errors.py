"""The one exception hierarchy users see: every user-facing failure is a DreamroomsError, a one-line message naming
the file or field and the fix (the CLI prints it and exits 1).

The general kinds live here.  A part's own kinds live beside the code that raises them, each a subclass of one
here, so `except DreamroomsError` catches them all (tests/core/test_layering.py checks this list is complete):
shot/lock.LockedError and LockFileError, shot/paths.UnsafePathError, shot/frames.FrameRangeError,
shot/sources.SourceError, shot/fit.FitError, limits.LimitError, stage/record.InputsChanged,
models/integrity.IntegrityError, models/download.DownloadError (a ModelError), walk/latent.WalkError,
walk/generator.GenerateError, mask/run.MaskError, mask/models.MaskModelError, layers/run.LayersError,
cluster/plan.ClusterError (and ShotNotVisible), training/photos.DatasetError, training/gan.TrainError,
training/onnx_export.ExportError, film/shotlist.FilmError.
"""


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
