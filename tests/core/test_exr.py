"""Layered EXR round trips, checked with readers we did not write (OpenCV here, Blender in tests/blender)."""
from __future__ import annotations

import os

os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"

import cv2
import numpy as np
import OpenEXR
import pytest

from dreamrooms.shot import exr
from dreamrooms.errors import ExrError


def _frame(h=24, w=40, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "RGBA": rng.random((h, w, 4), dtype=np.float32) * 4.0,  # HDR values above 1 survive
        "depth.Z": (1 + rng.random((h, w), dtype=np.float32) * 99).astype(np.float32),
        "mask.A": (rng.random((h, w)) > 0.5).astype(np.float32),
        "normal.XYZ": rng.standard_normal((h, w, 3)).astype(np.float32),
        "custom.Q": rng.random((h, w), dtype=np.float32),
        "id.I": rng.integers(0, 2**31, (h, w), dtype=np.uint32),
    }


def test_round_trip_every_layer_and_dtype(tmp_path):
    src = _frame()
    path = exr.write_frame(tmp_path / "f.0001.exr", src)
    back = exr.read_frame(path)
    assert set(back) == set(src)
    assert back["RGBA"].dtype == np.float16 and back["RGBA"].shape == (24, 40, 4)
    np.testing.assert_allclose(back["RGBA"].astype(np.float32), src["RGBA"], rtol=1e-3, atol=1e-3)
    for key in ("depth.Z", "mask.A", "normal.XYZ", "custom.Q"):
        assert back[key].dtype == np.float32
        np.testing.assert_array_equal(back[key], src[key])
    assert back["id.I"].dtype == np.uint32
    np.testing.assert_array_equal(back["id.I"], src["id.I"])


def test_channels_on_disk_have_the_design_names(tmp_path):
    path = exr.write_frame(tmp_path / "f.exr", _frame())
    with OpenEXR.File(str(path), separate_channels=True) as f:
        names = set(f.channels())
    assert {"R", "G", "B", "A", "depth.Z", "mask.A", "normal.X", "normal.Y", "normal.Z"} <= names


def test_opencv_reads_our_rgba(tmp_path):
    src = _frame()
    path = exr.write_frame(tmp_path / "rgba.exr", {"RGBA": src["RGBA"]})
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.shape == (24, 40, 4)
    rgba = img[..., [2, 1, 0, 3]]  # OpenCV is BGRA
    np.testing.assert_allclose(rgba, src["RGBA"], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("compression", ["zip", "piz", "none", "rle", "zips"])
def test_lossless_compressions_are_exact(tmp_path, compression):
    src = _frame()
    path = exr.write_frame(tmp_path / "f.exr", src, compression=compression)
    assert exr.info(path).compression == compression
    back = exr.read_frame(path)
    np.testing.assert_array_equal(back["depth.Z"], src["depth.Z"])
    np.testing.assert_array_equal(back["RGBA"], src["RGBA"].astype(np.float16))


def test_dwaa_is_lossy_for_colour_only(tmp_path):
    h, w = 64, 64
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgba = np.stack([x / w, y / h, (x + y) / (w + h), np.ones_like(x)], -1)
    depth = (1 + 10 * np.random.default_rng(1).random((h, w))).astype(np.float32)
    path = exr.write_frame(tmp_path / "f.exr", {"RGBA": rgba, "depth.Z": depth}, compression="dwaa")
    i = exr.info(path)
    assert i.parts == ["colour", "data"]
    parts = {c.name: c.part for c in i.channels}
    assert parts["depth.Z"] == "data" and parts["R"] == "colour"
    back = exr.read_frame(path)
    np.testing.assert_array_equal(back["depth.Z"], depth)  # depth never lossy
    np.testing.assert_allclose(back["RGBA"].astype(np.float32), rgba, atol=0.02)


def test_subset_of_layer_and_missing_channel_error(tmp_path):
    path = exr.write_frame(tmp_path / "f.exr", _frame())
    got = exr.read_frame(path, ["RGB", "depth.Z"])
    assert got["RGB"].shape == (24, 40, 3)
    with pytest.raises(ExrError, match=r"f\.exr.*no channel 'mask\.Z'"):
        exr.read_frame(path, ["mask.Z"])


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ExrError, match="missing.exr: file not found"):
        exr.read_frame(tmp_path / "missing.exr")
    junk = tmp_path / "junk.exr"
    junk.write_bytes(b"PNG not an exr at all")
    with pytest.raises(ExrError, match="junk.exr: not an OpenEXR file"):
        exr.read_frame(junk)
    good = exr.write_frame(tmp_path / "good.exr", _frame(h=64, w=64))
    cut = tmp_path / "cut.exr"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExrError, match="cut.exr: unreadable EXR"):
        exr.read_frame(cut)
    assert not exr.is_complete(cut)
    assert exr.is_complete(good, ["depth.Z"])
    assert not exr.is_complete(good, ["nothere.Z"])


def _patch_offset(path, entry: int, value: int) -> None:
    """Point entry `entry` of a single-part file's offset table at `value` (the first chunk follows the table)."""
    import struct
    from dreamrooms.shot.exr_layout import read_layout

    data = bytearray(path.read_bytes())
    chunks = read_layout(path).parts[0].chunks
    # the table is the `chunks` uint64s that end where the first chunk starts: find it from the end of the headers
    for start in range(8, len(data) - 8 * chunks):
        offs = struct.unpack_from(f"<{chunks}Q", data, start)
        if offs[0] == start + 8 * chunks and list(offs) == sorted(offs):
            break
    else:
        raise AssertionError("offset table not found")
    struct.pack_into("<Q", data, start + 8 * entry, value)
    path.write_bytes(bytes(data))


def test_is_complete_reads_the_layout_not_the_pixels(tmp_path):
    """Whole: the headers parse and every chunk in the offset tables ends inside the file; a cut file, a file whose
    offsets point past its end and a multi-part file missing its last part's data are not whole."""
    good = exr.write_frame(tmp_path / "good.exr", _frame(h=64, w=64))
    assert exr.is_complete(good) and exr.is_complete(good, ["RGBA", "depth.Z", "RGB"])
    assert not exr.is_complete(good, ["nothere.Z"])
    data = good.read_bytes()
    for n, cut in enumerate((len(data) - 1, len(data) // 2, 40, 3)):
        (tmp_path / f"cut{n}.exr").write_bytes(data[:cut])
        assert not exr.is_complete(tmp_path / f"cut{n}.exr"), cut
    past = tmp_path / "past.exr"
    past.write_bytes(data)
    _patch_offset(past, 1, len(data) + 100)
    assert not exr.is_complete(past)
    zero = tmp_path / "zero.exr"      # a table never filled in: an offset into the headers
    zero.write_bytes(data)
    _patch_offset(zero, 0, 0)
    assert not exr.is_complete(zero)
    two = exr.write_frame(tmp_path / "two.exr", _frame(h=64, w=64), compression="dwaa")   # colour + data parts
    assert exr.is_complete(two, ["RGBA", "depth.Z"])
    whole = two.read_bytes()
    (tmp_path / "two_cut.exr").write_bytes(whole[:-5])   # the data part's last chunk is short
    assert not exr.is_complete(tmp_path / "two_cut.exr", ["RGBA"])


def test_is_complete_decodes_no_pixels(tmp_path, monkeypatch):
    """Resume scans call is_complete on every frame: it must not open the file with the decoder at all."""
    good = exr.write_frame(tmp_path / "good.exr", _frame(h=64, w=64))

    def no_decoding(*_a, **_k):
        raise AssertionError("is_complete opened the file with the OpenEXR decoder")

    monkeypatch.setattr(exr.OpenEXR, "File", no_decoding)
    assert exr.is_complete(good, ["depth.Z"])


def test_shape_mismatch_and_bad_layer_name(tmp_path):
    with pytest.raises(ExrError, match="layer 'RGBA' has shape"):
        exr.write_frame(tmp_path / "a.exr", {"RGBA": np.zeros((4, 4, 3), np.float32)})
    with pytest.raises(ExrError, match="all layers share one size"):
        exr.write_frame(tmp_path / "b.exr", {"RGBA": np.zeros((4, 4, 4)), "depth.Z": np.zeros((5, 4))})
    assert not list(tmp_path.iterdir())


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    class Boom(RuntimeError):
        pass

    real = OpenEXR.File.write

    def exploding_write(self, path):
        real(self, path)  # the temp file is fully there...
        raise Boom("disk vanished")  # ...and then the process "dies" before the rename

    monkeypatch.setattr(OpenEXR.File, "write", exploding_write)
    with pytest.raises(Boom):
        exr.write_frame(tmp_path / "f.0001.exr", _frame())
    assert list(tmp_path.iterdir()) == []


def test_sequence_write_and_read_stream_in_order(tmp_path):
    frames = [(tmp_path / f"s.{i:04d}.exr", {"RGBA": np.full((8, 8, 4), i, np.float32), "depth.Z": np.full((8, 8), i + 0.5, np.float32)})
              for i in range(1, 13)]
    written = exr.write_sequence(iter(frames), workers=2)
    assert [p.name for p in written] == [f"s.{i:04d}.exr" for i in range(1, 13)]
    got = list(exr.read_sequence(written, ["depth.Z"], workers=2, prefetch=3))
    assert [float(g["depth.Z"][0, 0]) for g in got] == [i + 0.5 for i in range(1, 13)]


def test_sequence_writer_reraises_and_keeps_whole_frames(tmp_path):
    with pytest.raises(ExrError):
        with exr.SequenceWriter(workers=2) as w:
            w.submit(tmp_path / "ok.0001.exr", {"depth.Z": np.ones((4, 4), np.float32)})
            w.submit(tmp_path / "bad.0002.exr", {"RGBA": np.ones((4, 4, 2), np.float32)})
            for _ in range(50):
                w.submit(tmp_path / "ok.0001.exr", {"depth.Z": np.ones((4, 4), np.float32)})
            w.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["ok.0001.exr"]
    assert exr.is_complete(tmp_path / "ok.0001.exr", ["depth.Z"])


def test_sequence_writer_prepares_callable_layers_on_its_thread(tmp_path):
    import threading

    ran_on = []

    def layers(i):
        ran_on.append(threading.current_thread().name)
        return {"depth.Z": np.full((6, 5), i * 2.0, np.float32)}

    with exr.SequenceWriter(workers=1, max_pending=4) as w:
        for i in range(1, 6):
            w.submit(tmp_path / f"c.{i:04d}.exr", lambda i=i: layers(i))
    assert [float(exr.read_frame(tmp_path / f"c.{i:04d}.exr")["depth.Z"][2, 3]) for i in range(1, 6)] == [2, 4, 6, 8, 10]
    assert ran_on and all(n.startswith("exr-write") for n in ran_on)


def test_sequence_writer_error_in_callable_layers_leaves_no_file(tmp_path):
    def broken():
        raise ExrError("conversion failed")

    with pytest.raises(ExrError, match="conversion failed"):
        with exr.SequenceWriter(workers=1) as w:
            w.submit(tmp_path / "x.0001.exr", broken)
            w.close()
    assert list(tmp_path.iterdir()) == []


def test_group_channels_reads_blender_style_names():
    z = np.zeros((2, 2), np.float32)
    grouped = exr.group_channels({f"ViewLayer.Combined.{c}": z for c in "RGBA"} | {"ViewLayer.Depth.Z": z,
                                 "ViewLayer.Vector.X": z, "ViewLayer.Vector.Y": z, "ViewLayer.Vector.Z": z, "ViewLayer.Vector.W": z})
    assert set(grouped) == {"ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z", "ViewLayer.Vector.XYZW"}
    assert grouped["ViewLayer.Combined.RGBA"].shape == (2, 2, 4)


def test_half_conversion_has_the_bits_of_numpys_cast(tmp_path):
    """Colour layers are stored half through a fast conversion: the same bits as numpy's round-to-nearest-even
    cast, ties, subnormals, overflow to infinity and NaN included, for planes and 3- or 4-channel images."""
    edge = np.array([0.0, -0.0, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 1 / 3, 2.0009765625, 2.00146484375, 65504.0,
                     65519.0, 65520.0, 1e9, -1e9, np.inf, -np.inf, np.nan], np.float32)
    rng = np.random.default_rng(5)
    for shape in ((24, 40), (24, 40, 3), (24, 40, 4)):
        x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-7, 6, shape)).astype(np.float32)
        x.ravel()[:edge.size] = edge
        with np.errstate(over="ignore"):
            want = x.astype(np.float16)
        got = exr.to_half(x)
        assert got.dtype == np.float16 and got.shape == shape
        assert np.array_equal(got.view(np.uint16), want.view(np.uint16))
    full = np.arange(24 * 40 * 4, dtype=np.float32).reshape(24, 40, 4)
    for view in (full[..., 1], full[..., :3], full[::-1, ::2]):     # views that are not contiguous
        assert np.array_equal(exr.to_half(view), view.astype(np.float16))
    rgba = rng.random((24, 40, 4), dtype=np.float32) * 4.0
    exr.write_frame(tmp_path / "c.exr", {"RGBA": rgba})
    assert np.array_equal(exr.read_frame(tmp_path / "c.exr")["RGBA"], rgba.astype(np.float16))
