"""Layered parallax: split frames into depth layers (colour + alpha + depth) and fill what is hidden.

:mod:`.edges` finds where depth really jumps, :mod:`.behind` continues the far side of each cut behind the
near side, :mod:`.border` extends the frame border, :mod:`.split` builds the layers of one frame (by default
at depth edges: :func:`~.split.split_at_edges`), :mod:`.fill` fills hidden colour and keeps fills stable over
time.  The CLI lives in ``dreamrooms.commands.layers``.
"""
