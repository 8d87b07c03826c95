"""Layered parallax: split frames into depth layers (colour + alpha + depth) and fill what is hidden.

:mod:`.split` builds the layers of one frame, :mod:`.fill` fills hidden colour and depth and keeps fills
stable over time.  The CLI lives in ``dreamrooms.commands.layers``.
"""
