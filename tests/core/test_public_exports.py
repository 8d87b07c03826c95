"""Every public depth entry of the manifest, run end to end on a small ONNX file with exactly its export's
signature (tests/core/_exports.py) through real ONNX Runtime: preprocessing as the authors do it, output
semantics, extra outputs (FOV, normals), external-data files, clip windows, and the errors a user meets."""
from __future__ import annotations

import copy
import hashlib
import http.server
import math
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.commands.main import main as cli_main
from dreamrooms.depth import estimate_sequence, network_size, preprocess
from dreamrooms.depth import pointmap
from dreamrooms.depth.video import VideoPlan, VideoWindows
from dreamrooms.errors import DreamroomsError
from dreamrooms.models import MANIFEST_NAME, dumps_manifest, registry, resolve, sha256_file
from dreamrooms.models.download import fetch
from dreamrooms.shot import Shot, exr

import _exports as X  # noqa: E402


def _png(path: Path, rgb01: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), (np.clip(rgb01, 0, 1) * 65535 + 0.5).astype(np.uint16)[..., ::-1])


def _frames(folder: Path, n: int, w: int = 96, h: int = 54, moving: bool = True) -> str:
    """n frames: a bright square on a darker ramp (moving right when `moving`)."""
    for i in range(n):
        img = np.zeros((h, w, 3), np.float32) + np.linspace(0.15, 0.35, w, dtype=np.float32)[None, :, None]
        x0 = 10 + (2 * i if moving else 0)
        img[15:40, x0:x0 + 25] = 0.8
        _png(folder / f"img.{i + 1:04d}.png", img)
    return str(folder / "img.####.png")


def _install(mdir: Path, name: str, build) -> Path:
    """Put a fixture at the manifest entry's own path (as `models fetch` would), and vouch for it the way a user
    vouches for their own file: a user-manifest entry of the same name (which wins) with the fixture's sha256,
    since dreamrooms checks every model file against its manifest hash before running it."""
    entry = registry()[name]
    dest = mdir / entry.file
    dest.parent.mkdir(parents=True, exist_ok=True)
    build(dest)
    table = copy.deepcopy(entry.raw)
    table.update(sha256=sha256_file(dest), size=dest.stat().st_size)
    for d in table.get("data", []):
        part = dest.parent / d["file"]
        d.update(sha256=sha256_file(part), size=part.stat().st_size)
    (mdir / MANIFEST_NAME).write_text(dumps_manifest({name: table}), encoding="utf-8")
    return dest


# ---- preprocessing as the authors do it -------------------------------------------------------------------
def test_network_sizes_follow_each_authors_resize_rule():
    reg = registry()
    dav2 = reg["depth-anything-v2-small"].input
    assert network_size(dav2, 480, 640) == (518, 686)       # nearest multiple of 14 (rounding up gave 700)
    assert network_size(dav2, 1080, 1920) == (518, 924)
    assert network_size(dav2, 1920, 1080) == (924, 518)
    assert network_size(reg["midas-v21-small"].input, 1080, 1920) == (256, 256)   # squashed, aspect not kept
    da3 = reg["depth-anything-3-small"].input
    assert network_size(da3, 1080, 1920) == (280, 504)      # long side 504, 283.5 -> 284 px -> 280
    assert network_size(da3, 480, 640) == (378, 504)
    assert network_size(reg["moge-2-vits"].input, 1080, 1920) == (364, 644)


def test_preprocessing_uses_the_authors_interpolation_and_normalisation():
    rng = np.random.default_rng(0)
    img = rng.random((60, 80, 3)).astype(np.float32)
    dav2 = registry()["depth-anything-v2-small"].input
    x, small = preprocess(img, (42, 56), dav2)
    want = cv2.resize(img, (56, 42), interpolation=cv2.INTER_CUBIC)
    assert np.allclose(small, want, atol=1e-6)
    assert np.allclose(x, X.normalised(want.transpose(2, 0, 1)), atol=1e-5)
    midas = registry()["midas-v21-small"].input
    x, _ = preprocess(img, (256, 256), midas)
    assert np.allclose(x, cv2.resize(img, (256, 256), interpolation=cv2.INTER_CUBIC).transpose(2, 0, 1), atol=1e-6)


# ---- per-frame exports, end to end ----------------------------------------------------------------------
def test_midas_graph_normalises_so_dreamrooms_feeds_plain_0_1(mdir, tmp_path):
    """The MiDaS release normalises inside the graph (the fixture: 3 + channel mean of its own normalisation),
    so what the stage feeds must be the squashed frame in plain 0..1; normalised twice the answer is off by ~2x."""
    _install(mdir, "midas-v21-small", X.midas_small)
    frames = _frames(tmp_path / "in", 2, moving=False)
    ms_out = []
    res = estimate_sequence(frames, "midas-v21-small", tmp_path / "shot", stabilize="off", device="cpu",
                            on_frame=ms_out.append)
    assert res.net_size == (256, 256) and sorted(ms_out) == [1, 2]
    from dreamrooms.depth.model import load_model

    ms = load_model("midas-v21-small", device="cpu", threads=1)
    img = cv2.imread(str(tmp_path / "in" / "img.0001.png"), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
    x, _ = preprocess(img.astype(np.float32), (256, 256), ms.entry.input)
    y = ms.session.run(None, {ms.session.get_inputs()[0].name: x[None]})[0]
    squashed = cv2.resize(img.astype(np.float32), (256, 256), interpolation=cv2.INTER_CUBIC).transpose(2, 0, 1)
    assert np.allclose(y[0], 3 + X.normalised(squashed).mean(0), atol=1e-4)


def test_dav2_export_that_always_returns_518_is_resized_back_onto_the_frame(mdir, tmp_path):
    """An export that returns 518x518 whatever its input: the square (near, bright) must land where it is."""
    _install(mdir, "depth-anything-v2-small", lambda p: X.depth_anything_v2(p, out_size=518))
    frames = _frames(tmp_path / "in", 1, w=160, h=90, moving=False)
    estimate_sequence(frames, "depth-anything-v2-small", tmp_path / "shot", stabilize="off", device="cpu")
    d = exr.read_frame(next((tmp_path / "shot" / "depth").glob("*.exr")), ["Y"])["Y"]
    assert d.shape == (90, 160)
    assert d[20:35, 15:30].mean() < 0.8 * d[60:85, 100:150].mean()   # the bright square is nearer


def test_mirror_with_other_tensor_names_fails_with_an_io_message_and_leaves_nothing(mdir, tmp_path):
    """fabio-sim's static export (image -> depth, 518x518) fetched as depth-anything-v2-large via --url."""
    f = X.depth_anything_v2(tmp_path / "fabio.onnx", names=("image", "depth"), static=518)
    srv = _serve({"/v2/depth_anything_v2_vitl.onnx": f.read_bytes()})
    try:
        with pytest.raises(DreamroomsError) as exc:
            fetch("depth-anything-v2-large", url=srv.base + "/v2/depth_anything_v2_vitl.onnx", allow_unverified=True)
    finally:
        srv.shutdown()
    msg = str(exc.value)
    assert "pixel_values" in msg and "image" in msg and "\n" not in msg
    assert not any(p.is_file() for p in mdir.rglob("*"))


def test_moge_writes_metric_depth_normals_and_the_lens_into_a_shot_without_camera(mdir, tmp_path):
    _install(mdir, "moge-2-vits", lambda p: X.moge2(p, fov_x_deg=60.0))
    frames = _frames(tmp_path / "in", 2, w=112, h=64, moving=False)
    res = estimate_sequence(frames, "moge-2-vits", tmp_path / "shot", stabilize="off", device="cpu")
    shot = Shot.load(tmp_path / "shot")
    assert shot.camera is not None
    assert shot.camera.lens_at(0) == pytest.approx(36 / (2 * math.tan(math.radians(30))), rel=0.02)
    layers = exr.read_frame(shot.frame_path("layers", 1))
    assert {"normal.X", "normal.Y", "normal.Z"} <= set(shot.sequences["layers"].channels)
    normal = layers["normal.XYZ"]            # the fixture's normals face the camera: (0, 0, -1)
    assert normal.shape == (64, 112, 3) and np.allclose(normal, [0, 0, -1], atol=1e-5)
    d = exr.read_frame(shot.frame_path("depth", 1), ["Y"])["Y"]
    img = cv2.imread(str(tmp_path / "in" / "img.0001.png"), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
    z = 1.0 + img.mean(axis=2)                   # the fixture's depth in metres where its mask is on
    on = z > 1.1
    assert np.median(np.abs(d[on] - z[on]) / z[on]) < 0.03
    assert res.stats.get("fov_x") == pytest.approx(60.0, abs=1.0)


def test_depth_anything_3_depth_is_not_read_as_disparity(mdir, tmp_path):
    """DA3 outputs depth (exp head): brighter = smaller exp(-mean) = nearer in the fixture, so the bright
    square must come out nearer, not farther."""
    _install(mdir, "depth-anything-3-small", X.depth_anything_3)
    assert (mdir / "depth-anything-3-small" / "model.onnx_data").is_file()
    frames = _frames(tmp_path / "in", 1, w=160, h=90, moving=False)
    res = estimate_sequence(frames, "depth-anything-3-small", tmp_path / "shot", stabilize="off", device="cpu")
    assert res.net_size == (280, 504)
    d = exr.read_frame(next((tmp_path / "shot" / "depth").glob("*.exr")), ["Y"])["Y"]
    assert d[20:35, 15:30].mean() < d[60:85, 100:150].mean()


def test_depth_pro_focal_length_becomes_the_shot_lens(mdir, tmp_path, monkeypatch):
    reg = registry()
    entry = reg["depth-pro"]
    # a 64 px network keeps the test fast; the entry's 1536 is the real export's size
    manifest = mdir / "models.toml"
    mdir.mkdir(parents=True, exist_ok=True)
    manifest.write_text('''
[models.depth-pro-small]
kind = "depth"
file = "pro/model.onnx"
license = "test"
[models.depth-pro-small.input]
name = "pixel_values"
size = [64, 64]
resize = "fixed"
interpolation = "linear"
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
[models.depth-pro-small.output]
name = "predicted_depth"
semantics = "depth_metric"
focal_px = "focallength_px"
''')
    X.depth_pro(mdir / "pro" / "model.onnx", side=64, fov_x_deg=55.0)
    assert entry.output["focal_px"] == "focallength_px"
    frames = _frames(tmp_path / "in", 1, moving=False)
    estimate_sequence(frames, "depth-pro-small", tmp_path / "shot", stabilize="off", device="cpu")
    shot = Shot.load(tmp_path / "shot")
    assert shot.camera.lens_at(0) == pytest.approx(36 / (2 * math.tan(math.radians(27.5))), rel=0.01)


# ---- clip models -------------------------------------------------------------------------------------------
def _vda_manifest(mdir: Path, window: int = 8) -> None:
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "models.toml").write_text(f'''
[models.vda8]
kind = "depth"
file = "vda8.onnx"
license = "test"
[models.vda8.input]
name = "frames"
layout = "NTCHW"
window = {window}
multiple_of = 14
target = 28
resize = "lower_bound"
interpolation = "cubic"
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
[models.vda8.output]
name = "depth"
semantics = "inverse_relative"
[models.vda8.video]
window = {window}
overlap = 4
keyframes = [0, 5, 6, 7]
align_frames = 2
blend_frames = 2
''')
    X.video_depth_anything(mdir / "vda8.onnx", window=window)


def test_video_windows_are_aligned_into_one_scale_for_the_whole_clip(mdir, tmp_path):
    """The fixture's scale jumps from window to window (it depends on each window's content); aligned to the
    previous overlap, every written frame is the same affine map of the fixture's per-frame answer."""
    _vda_manifest(mdir)
    frames = _frames(tmp_path / "in", 19, w=56, h=28)          # 56x28 is the network size: no resampling
    res = estimate_sequence(frames, "vda8", tmp_path / "shot", device="cpu")
    assert res.net_size == (28, 56)
    shot = Shot.load(tmp_path / "shot")
    truth, inv = [], []
    for n in shot.frames:
        img = cv2.imread(str(tmp_path / "in" / f"img.{n:04d}.png"), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
        truth.append(3 + X.normalised(img.astype(np.float32).transpose(2, 0, 1)).mean(0))
        inv.append(1.0 / exr.read_frame(shot.frame_path("depth", n), ["Y"])["Y"])
    t, v = np.concatenate([a.ravel() for a in truth]), np.concatenate([a.ravel() for a in inv])
    a, b = np.polyfit(t, v, 1)
    assert np.abs(a * t + b - v).max() < 2e-3 * np.abs(v).max()
    # unaligned, the windows disagree: the fixture's own scale for window 0 and window 1 differs
    import onnxruntime as ort

    sess = ort.InferenceSession(str(mdir / "vda8.onnx"), providers=["CPUExecutionProvider"])
    plan = VideoPlan(window=8, overlap=4, keyframes=(0, 5, 6, 7), align_frames=2, blend_frames=2)
    gains = []
    for k in (0, 1):
        idx = plan.inputs(k, len(truth))
        imgs = [cv2.imread(str(tmp_path / "in" / f"img.{i + 1:04d}.png"), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
                for i in idx]
        x = np.stack([X.normalised(im.astype(np.float32).transpose(2, 0, 1)) for im in imgs])[None]
        y = sess.run(None, {"frames": x.astype(np.float32)})[0][0]
        gains.append(float(y[-1].mean() / truth[idx[-1]].mean()))
    assert abs(gains[1] / gains[0] - 1) > 0.01, gains


def test_video_run_resumes_after_a_kill_to_the_same_result(mdir, tmp_path):
    _vda_manifest(mdir)
    frames = _frames(tmp_path / "in", 19)
    estimate_sequence(frames, "vda8", tmp_path / "full", device="cpu")

    def boom(n):
        if n == 11:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        estimate_sequence(frames, "vda8", tmp_path / "cut", device="cpu", on_frame=boom)
    assert not (tmp_path / "cut" / "shot.json").exists()
    res = estimate_sequence(frames, "vda8", tmp_path / "cut", device="cpu")
    assert res.skipped > 0
    a, b = Shot.load(tmp_path / "full"), Shot.load(tmp_path / "cut")
    for n in a.frames:
        da = exr.read_frame(a.frame_path("depth", n), ["Y"])["Y"]
        db = exr.read_frame(b.frame_path("depth", n), ["Y"])["Y"]
        assert np.allclose(da, db, rtol=1e-5), n


def test_video_scheduler_emits_every_frame_once_in_order_with_flat_memory():
    plan = VideoPlan()
    seen_max = [0]

    def run(batch):
        return batch[0, :, 0] * 2 + 1

    n = 120
    w = VideoWindows(plan, run, n)
    out = []
    for i in range(n):
        out += w.push(i, np.full((3, 2, 2), i, np.float32))
        seen_max[0] = max(seen_max[0], len(w.inputs))
    assert [i for i, _ in out] == list(range(n))
    assert seen_max[0] <= plan.window
    assert plan.inputs(1, n)[:2] == [0, 12] and plan.inputs(1, n)[2:10] == list(range(24, 32))


# ---- camera from a point map ------------------------------------------------------------------------------
def test_point_map_recovers_field_of_view_and_metric_depth():
    h, w, fov = 90, 160, 48.0
    fx = (w / 2) / math.tan(math.radians(fov) / 2)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    z = 3 + np.sin(xs / 30) + ys / 60
    pts = np.stack([(xs + 0.5 - w / 2) / fx * z, (ys + 0.5 - h / 2) / fx * z, z - 2.2], -1) / 1.7
    depth, fov_x = pointmap.metric_depth(pts, None, 1.7)
    assert fov_x == pytest.approx(fov, abs=1e-3)
    assert np.allclose(depth, z, rtol=1e-4)
    assert pointmap.fov_x_to_lens_mm(fov_x, 36.0) == pytest.approx(36 / (2 * math.tan(math.radians(24))), rel=1e-4)


# ---- downloads of graph + external data --------------------------------------------------------------------
class _Files(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(files: dict[str, bytes]):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    srv.files = files
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    return srv


def _two_file_manifest(mdir: Path, base: str, graph: bytes, data: bytes, data_sha: str | None = None) -> None:
    sha = lambda b: hashlib.sha256(b).hexdigest()
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "models.toml").write_text(f'''
[models.da3x]
kind = "depth"
file = "da3x/model.onnx"
url = "{base}/onnx/model.onnx"
sha256 = "{sha(graph)}"
size = {len(graph)}
license = "Apache-2.0"
[[models.da3x.data]]
file = "model.onnx_data"
url = "{base}/onnx/model.onnx_data"
sha256 = "{data_sha or sha(data)}"
size = {len(data)}
[models.da3x.input]
name = "pixel_values"
layout = "NTCHW"
window = 1
multiple_of = 14
target = 56
resize = "longest_side"
interpolation = "cubic_up_area_down"
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
[models.da3x.output]
name = "predicted_depth"
semantics = "depth_relative"
''')


def test_fetch_downloads_and_verifies_every_file_of_an_external_data_model(mdir, tmp_path):
    src = X.depth_anything_3(tmp_path / "src" / "model.onnx")
    graph, data = src.read_bytes(), (src.parent / "model.onnx_data").read_bytes()
    srv = _serve({"/onnx/model.onnx": graph, "/onnx/model.onnx_data": data})
    try:
        _two_file_manifest(mdir, srv.base, graph, data)
        assert cli_main(["models", "fetch", "da3x"]) == 0
    finally:
        srv.shutdown()
    assert (mdir / "da3x" / "model.onnx").read_bytes() == graph
    assert (mdir / "da3x" / "model.onnx_data").read_bytes() == data
    frames = _frames(tmp_path / "in", 1, moving=False)
    estimate_sequence(frames, "da3x", tmp_path / "shot", stabilize="off", device="cpu")


def test_a_bad_external_data_file_is_named_deleted_and_the_model_stays_uninstalled(mdir, tmp_path, capsys):
    src = X.depth_anything_3(tmp_path / "src" / "model.onnx")
    graph, data = src.read_bytes(), (src.parent / "model.onnx_data").read_bytes()
    srv = _serve({"/onnx/model.onnx": graph, "/onnx/model.onnx_data": data})
    try:
        _two_file_manifest(mdir, srv.base, graph, data, data_sha="0" * 64)
        assert cli_main(["models", "fetch", "da3x"]) == 1
    finally:
        srv.shutdown()
    err = capsys.readouterr().err
    assert "model.onnx_data" in err and "sha256" in err and err.count("\n") == 1
    assert not (mdir / "da3x" / "model.onnx_data").exists()
    assert not resolve("da3x", require_installed=False).installed


def test_a_mirror_folder_serves_every_file_of_a_multi_file_model(mdir, tmp_path):
    """`--url FOLDER/` fetches the graph and its external data by their own names from the mirror."""
    src = X.depth_anything_3(tmp_path / "src" / "model.onnx")
    graph, data = src.read_bytes(), (src.parent / "model.onnx_data").read_bytes()
    srv = _serve({"/mirror/da3/model.onnx": graph, "/mirror/da3/model.onnx_data": data})
    try:
        _two_file_manifest(mdir, "http://127.0.0.1:9/unreachable", graph, data)
        assert cli_main(["models", "fetch", "da3x", "--url", srv.base + "/mirror/da3/"]) == 0
    finally:
        srv.shutdown()
    assert resolve("da3x").installed
    assert (mdir / "da3x" / "model.onnx_data").read_bytes() == data
