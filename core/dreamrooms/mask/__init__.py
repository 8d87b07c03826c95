"""Foreground mattes: from depth (built in, offline) or from segmentation models (Mask R-CNN, BiRefNet).

:mod:`.matte` holds the depth-based matte and the temporal filter, :mod:`.models` the model adapters
(pre/post-processing per exported signature).  The CLI lives in ``dreamrooms.commands.mask``.
"""
