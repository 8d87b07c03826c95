"""An EXR file's layout without decoding pixels: its parts (name, channels) and whether every chunk its offset
tables list lies whole inside the file.

Byte layout per "OpenEXR File Layout" (openexr.com/en/latest/OpenEXRFileLayout.html): magic 76 2f 31 01; a version
field whose bit 9 marks a single-part tiled file, bit 11 deep data, bit 12 several parts; one header per part
(attributes `name\\0 type\\0 int32 size, value`, a null byte ends a header, another ends the list of a multi-part
file); one offset table per part (uint64 file offsets, `chunkCount` entries, or for a scan-line part the data
window's height over the lines per chunk of its compression); then the chunks: an int32 part number in a multi-part
file, then a scan-line chunk's int32 y and int32 data size (a tile's four int32 coordinates and int32 size), then
the data.  All integers are little-endian.  The OpenEXR Python binding drops a part whose pixels do not decode with
only a warning, so a whole-file check cannot lean on it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\x76\x2f\x31\x01"
TILED, LONG_NAMES, DEEP, MULTIPART = 0x200, 0x400, 0x800, 0x1000
# scan lines per chunk by compression id: NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB
LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
MAX_HEADER_BYTES = 1 << 24   # a header bigger than this is not one we wrote or Blender did


class LayoutUnknown(Exception):
    """A layout this reader does not check (deep data, tiles without a chunk count, an unknown compression)."""


@dataclass(frozen=True)
class Part:
    name: str
    channels: tuple[str, ...]
    chunks: int


@dataclass(frozen=True)
class Layout:
    parts: tuple[Part, ...]


class _Reader:
    def __init__(self, fh, size: int):
        self.fh, self.size = fh, size

    def take(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ValueError("truncated")
        return data

    def cstr(self, limit: int) -> bytes:
        out = bytearray()
        while (c := self.take(1)) != b"\0":
            out += c
            if len(out) > limit:
                raise ValueError("name too long")
        return bytes(out)


def _headers(r: _Reader, multipart: bool, name_limit: int) -> list[dict[bytes, tuple[bytes, bytes]]]:
    headers = []
    while True:
        header: dict[bytes, tuple[bytes, bytes]] = {}
        while name := r.cstr(name_limit):
            kind = r.cstr(name_limit)
            (n,) = struct.unpack("<i", r.take(4))
            if not 0 <= n <= min(r.size, MAX_HEADER_BYTES):
                raise ValueError(f"attribute {name!r} size {n}")
            header[name] = (kind, r.take(n))
        if not multipart:
            return [header]
        if not header:  # the empty header ends a multi-part file's list
            return headers
        headers.append(header)


def _channels(chlist: bytes) -> tuple[str, ...]:
    """Channel names of a `chlist` value: name\\0 then 16 bytes (type, pLinear, reserved, x/y sampling) each."""
    names, i = [], 0
    while i < len(chlist) and chlist[i] != 0:
        end = chlist.index(b"\0", i)
        names.append(chlist[i:end].decode("utf-8", "replace"))
        i = end + 1 + 16
    if i >= len(chlist) + 1:
        raise ValueError("chlist runs past its attribute")
    return tuple(names)


def _chunk_count(h: dict[bytes, tuple[bytes, bytes]], tiled: bool, deep: bool) -> int:
    if b"chunkCount" in h:
        return struct.unpack("<i", h[b"chunkCount"][1])[0]
    kind = h.get(b"type", (b"", b""))[1].rstrip(b"\0")
    if deep or tiled or kind not in (b"", b"scanlineimage"):
        raise LayoutUnknown("tiled or deep part without chunkCount")
    x0, y0, x1, y1 = struct.unpack("<4i", h[b"dataWindow"][1])
    lines = LINES_PER_CHUNK.get(h[b"compression"][1][0])
    if lines is None:
        raise LayoutUnknown("unknown compression")
    return -(-(y1 - y0 + 1) // lines)


def read_layout(path: Path) -> Layout:
    """The parts of a whole EXR; ValueError when it is cut short, its offsets point outside it, or its headers are
    malformed; LayoutUnknown for a layout this does not check."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        r = _Reader(fh, size)
        if r.take(4) != MAGIC:
            raise ValueError("not an OpenEXR file")
        (version,) = struct.unpack("<i", r.take(4))
        multipart, deep, tiled = bool(version & MULTIPART), bool(version & DEEP), bool(version & TILED)
        if deep:
            raise LayoutUnknown("deep data")
        headers = _headers(r, multipart, 255 if version & LONG_NAMES else 31)
        if not headers:
            raise ValueError("no part")
        counts = [_chunk_count(h, tiled, deep) for h in headers]
        if any(n < 1 for n in counts) or 8 * sum(counts) > size:
            raise ValueError("offset table larger than the file")
        tables = [struct.unpack(f"<{n}Q", r.take(8 * n)) for n in counts]
        first = fh.tell()
        for index, (h, offsets) in enumerate(zip(headers, tables)):
            tile = tiled or h.get(b"type", (b"", b""))[1].rstrip(b"\0") == b"tiledimage"
            lead = (4 if multipart else 0) + (16 if tile else 4)   # part number, then y or tile coordinates
            for off in offsets:
                if not first <= off <= size - lead - 4:
                    raise ValueError(f"chunk offset {off} outside {first}..{size}")
                fh.seek(off)
                head = r.take(lead + 4)
                if multipart and struct.unpack("<i", head[:4])[0] != index:
                    raise ValueError("chunk of another part")
                (n,) = struct.unpack("<i", head[-4:])
                if n < 0 or off + lead + 4 + n > size:
                    raise ValueError(f"chunk at {off} runs past the end of the file")
    return Layout(tuple(Part(h.get(b"name", (b"", b""))[1].rstrip(b"\0").decode("utf-8", "replace"),
                             _channels(h[b"channels"][1]) if b"channels" in h else (), n)
                        for h, n in zip(headers, counts)))
