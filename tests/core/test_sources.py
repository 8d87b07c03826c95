"""Frame sources: image sequences, folders, videos, shots; colour encodings and one-line errors."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.shot import exr
from dreamrooms.shot import Shot
from dreamrooms.shot.sources import SourceError, from_linear_rgba, image_size, open_source


def _png(path: Path, rgb01: np.ndarray, bits: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = 255 if bits == 8 else 65535
    arr = (np.clip(rgb01, 0, 1) * scale + 0.5).astype(np.uint8 if bits == 8 else np.uint16)
    if arr.ndim == 3:
        arr = arr[..., ::-1] if arr.shape[2] == 3 else arr[..., [2, 1, 0, 3]]
    assert cv2.imwrite(str(path), arr)


def _ramp(w, h, k=0):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / (w - 1), y / (h - 1), np.full_like(x, (k % 10) / 10)], -1)


def test_pattern_streams_frames_in_order_with_their_numbers(tmp_path):
    for n in (7, 8, 9, 10):
        _png(tmp_path / f"img.{n:04d}.png", _ramp(40, 30, n))
    src = open_source(str(tmp_path / "img.####.png"))
    assert (src.width, src.height) == (40, 30) and src.numbers == [7, 8, 9, 10]
    frames = list(src.frames([8, 9]))
    assert [f.number for f in frames] == [8, 9]
    f = frames[0]
    assert f.srgb.shape == (30, 40, 3) and f.srgb.dtype == np.float32
    # 8-bit PNG values are sRGB-encoded: srgb is the file's value, rgba is the decoded linear value
    assert f.srgb[0, -1, 0] == pytest.approx(1.0) and f.srgb[0, 0, 2] == pytest.approx(round(0.8 * 255) / 255)
    assert f.rgba[0, 0, 2] == pytest.approx(((round(0.8 * 255) / 255 + 0.055) / 1.055) ** 2.4, rel=1e-4)
    assert np.all(f.rgba[..., 3] == 1.0)
    # printf-style patterns name the same files
    assert open_source(str(tmp_path / "img.%04d.png")).numbers == [7, 8, 9, 10]


def test_pattern_with_a_gap_names_the_missing_frame(tmp_path):
    for n in (1, 2, 4):
        _png(tmp_path / f"f.{n:04d}.png", _ramp(16, 8))
    with pytest.raises(SourceError, match="frame 3 is missing"):
        open_source(str(tmp_path / "f.####.png"))


def test_folder_uses_natural_order_and_16bit_precision(tmp_path):
    names = ["shot2.png", "shot10.png", "shot1.png"]
    vals = {"shot1.png": 0.1, "shot2.png": 0.2, "shot10.png": 0.3}
    for nme in names:
        img = np.full((8, 12, 3), vals[nme], np.float32)
        img[0, 0] = [0.123456, 0.5, 0.9]
        _png(tmp_path / nme, img, bits=16)
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(tmp_path)
    frames = list(src.frames())
    assert [f.number for f in frames] == [1, 2, 3]
    assert [round(float(f.srgb[4, 4, 0]), 4) for f in frames] == [0.1, 0.2, 0.3]
    # 16-bit keeps 1/65535 precision
    assert frames[0].srgb[0, 0, 0] == pytest.approx(0.123456, abs=1e-5)


def test_rgba_png_is_premultiplied_linear_and_straight_srgb(tmp_path):
    img = np.zeros((4, 4, 4), np.float32)
    img[..., 0] = 1.0
    img[..., 3] = 0.5
    _png(tmp_path / "a.0001.png", img)
    f = next(open_source(str(tmp_path / "a.####.png")).frames())
    assert f.srgb[0, 0, 0] == pytest.approx(1.0)                  # straight colour for the model
    assert f.rgba[0, 0, 0] == pytest.approx(128 / 255, abs=1e-6)  # linear 1.0 premultiplied by alpha
    assert f.rgba[0, 0, 3] == pytest.approx(128 / 255, abs=1e-6)


def test_exr_frames_are_linear_and_encoded_for_models(tmp_path):
    rgba = np.zeros((6, 8, 4), np.float32)
    rgba[..., :3] = 0.214041  # linear value of sRGB 0.5
    rgba[..., 3] = 1
    exr.write_frame(tmp_path / "x" / "e.0001.exr", {"RGBA": rgba})
    f = next(open_source(tmp_path / "x").frames())
    assert f.srgb[0, 0, 0] == pytest.approx(0.5, abs=2e-3)
    assert f.rgba[0, 0, 0] == pytest.approx(0.214041, abs=1e-3)
    s, r = from_linear_rgba(np.dstack([np.full((2, 2, 3), 0.25, np.float32), np.full((2, 2), 0.5, np.float32)]))
    assert s[0, 0, 0] == pytest.approx(((0.5 ** (1 / 2.4)) * 1.055 - 0.055), abs=2e-3)  # unpremultiplied first


def test_shot_source_reads_the_colour_sequence(tmp_path):
    shot = Shot(fps=12, width=8, height=6, frame_start=3, frame_end=4, name="w")
    shot.folder = tmp_path
    for n in shot.frames:
        exr.write_frame(tmp_path / f"layers/w.{n:04d}.exr", {"RGBA": np.full((6, 8, 4), n / 10, np.float32)})
    shot.add_sequence("walk", "layers/w.####.exr", ["R", "G", "B", "A"])
    shot.save()
    src = open_source(tmp_path)
    assert src.kind == "shot" and src.numbers == [3, 4] and src.fps == 12
    assert [round(float(f.rgba[0, 0, 0]), 3) for f in src.frames()] == [0.3, 0.4]


def test_video_source_counts_and_decodes_frames(tmp_path):
    path = tmp_path / "clip.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (64, 48))
    assert vw.isOpened()
    for k in range(6):
        vw.write(np.full((48, 64, 3), 40 * k, np.uint8))
    vw.release()
    src = open_source(path)
    assert src.kind == "video" and (src.width, src.height) == (64, 48) and src.fps == pytest.approx(15.0)
    assert src.numbers == list(range(1, 7))
    frames = list(src.frames([2, 5]))
    assert [f.number for f in frames] == [2, 5]
    assert float(frames[1].srgb.mean()) == pytest.approx(160 / 255, abs=0.03)


def test_errors_are_one_line_and_name_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="folder has no images"):
        open_source(tmp_path / "empty")
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"this is not a video at all" * 10)
    with pytest.raises(SourceError, match=r"clip\.mp4: cannot decode this video") as ei:
        open_source(bad)
    assert "\n" not in str(ei.value)
    mixed = tmp_path / "mixed"
    _png(mixed / "a1.png", _ramp(32, 16))
    _png(mixed / "a2.png", _ramp(32, 16))
    _png(mixed / "a3.png", _ramp(30, 16))
    with pytest.raises(SourceError, match=r"a3\.png: 30x16 but .*a1\.png is 32x16"):
        open_source(mixed)
    with pytest.raises(SourceError, match="no files match"):
        open_source(str(tmp_path / "nothing.####.png"))


def test_a_corrupt_frame_fails_when_it_is_reached_naming_it(tmp_path):
    for n in (1, 2, 3):
        _png(tmp_path / f"c.{n:04d}.png", _ramp(16, 8))
    data = (tmp_path / "c.0003.png").read_bytes()
    (tmp_path / "c.0003.png").write_bytes(data[:40])  # header intact, pixels gone
    assert image_size(tmp_path / "c.0003.png") == (16, 8)
    src = open_source(str(tmp_path / "c.####.png"))
    it = src.frames()
    assert next(it).number == 1 and next(it).number == 2  # streaming: earlier frames decode fine
    with pytest.raises(SourceError, match=r"c\.0003\.png: unreadable image"):
        next(it)


def test_each_frame_of_a_pattern_is_decoded_once_probe_included(tmp_path, monkeypatch):
    """The source decodes its first frame to learn the size; streaming then hands that frame out instead of
    decoding the file a second time (the pixels are the same as a fresh decode)."""
    from dreamrooms.shot import sources

    for n in (1, 2, 3):
        _png(tmp_path / f"img.{n:04d}.png", _ramp(40, 30, n))
    decoded = []
    real = sources.read_image
    monkeypatch.setattr(sources, "read_image", lambda p: decoded.append(Path(p).name) or real(p))
    src = open_source(str(tmp_path / "img.####.png"))
    frames = list(src.frames())
    assert sorted(decoded) == ["img.0001.png", "img.0002.png", "img.0003.png"]
    fresh_srgb, fresh_rgba = real(tmp_path / "img.0001.png")
    assert np.array_equal(frames[0].srgb, fresh_srgb) and np.array_equal(frames[0].rgba, fresh_rgba)
    assert [f.number for f in src.frames()] == [1, 2, 3]     # a second pass decodes every file again
    assert len(decoded) == 6
