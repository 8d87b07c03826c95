"""dreamrooms.shot.exr against Blender: Blender's image loader reads our files, we read Blender's renders."""
from __future__ import annotations

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from dreamrooms.shot import exr  # noqa: E402


def _blender_pixels(path) -> np.ndarray:
    """Pixels as Blender's own loader decodes them, flipped to top-left origin, HxWx4 float."""
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        n = len(img.pixels)  # touching pixels loads the buffer (size reads 0x0 before that)
        w, h = img.size
        assert n == w * h * 4 and n > 0, f"Blender could not decode {path}"
        buf = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(buf)
        return buf.reshape(h, w, 4)[::-1]
    finally:
        bpy.data.images.remove(img)


def test_blender_reads_our_rgba(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.random((20, 30, 4), dtype=np.float32) * 3.0
    rgba[..., 3] = 1.0
    # Blender's Python API exposes pixels only for plain RGBA files (a depth.Z beside RGBA turns the file into a
    # MULTILAYER image whose pixels Python cannot read), which is why shots keep one sequence per pass.
    path = exr.write_frame(tmp_path / "c.exr", {"RGBA": rgba})
    got = _blender_pixels(path)
    np.testing.assert_allclose(got, rgba.astype(np.float16).astype(np.float32), rtol=1e-3, atol=1e-4)


def test_blender_reads_our_single_channel_depth_as_float(tmp_path):
    depth = np.linspace(0.5, 250.0, 20 * 30, dtype=np.float32).reshape(20, 30)
    path = exr.write_frame(tmp_path / "d.exr", {"Y": depth})
    assert [c.type for c in exr.info(path).channels] == ["float"]
    got = _blender_pixels(path)
    for c in range(3):  # a single-channel Y float EXR reads as full-range float in every colour channel
        np.testing.assert_allclose(got[..., c], depth, rtol=1e-6)


def _render_plane_scene(out_base: str, distance: float, multilayer: bool = True) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 2
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 32
    scene.render.resolution_percentage = 100
    cam_data = bpy.data.cameras.new("cam")
    cam_data.lens, cam_data.sensor_width, cam_data.sensor_fit = 50.0, 36.0, "HORIZONTAL"
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam  # at the origin looking down -Z
    mesh = bpy.data.meshes.new("wall")
    s = 10.0
    mesh.from_pydata([(-s, -s, -distance), (s, -s, -distance), (s, s, -distance), (-s, s, -distance)], [], [(0, 1, 2, 3)])
    wall = bpy.data.objects.new("wall", mesh)
    scene.collection.objects.link(wall)
    world = bpy.data.worlds.new("w")
    scene.world = world
    scene.view_layers[0].use_pass_z = True
    scene.cycles.seed = 7
    settings = scene.render.image_settings
    if bpy.app.version >= (5, 0, 0):
        # 5.0: media_type picks the family; under MULTI_LAYER_IMAGE the only file_format is OPEN_EXR_MULTILAYER
        settings.media_type = "MULTI_LAYER_IMAGE" if multilayer else "IMAGE"
        if not multilayer:
            settings.file_format = "OPEN_EXR"
    else:
        settings.file_format = "OPEN_EXR_MULTILAYER" if multilayer else "OPEN_EXR"
    settings.color_mode = "RGBA"
    settings.color_depth = "32"
    settings.exr_codec = "ZIP"
    scene.render.filepath = out_base
    scene.frame_start = scene.frame_end = 1
    bpy.ops.render.render(animation=True)


def test_we_read_blender_multilayer_render(tmp_path):
    distance = 4.0
    _render_plane_scene(str(tmp_path / "render.####"), distance)
    path = tmp_path / "render.0001.exr"
    assert path.exists()
    frame = exr.read_frame(path)
    assert "ViewLayer.Combined.RGBA" in frame and "ViewLayer.Depth.Z" in frame, sorted(frame)
    depth = frame["ViewLayer.Depth.Z"]
    assert depth.shape == (32, 32)
    # a wall perpendicular to the view axis: Blender's Z pass is the distance along the axis, everywhere
    np.testing.assert_allclose(depth, distance, rtol=1e-4)
    info = exr.info(path)
    assert len(info.parts) >= 2, "Blender 5 writes one part per pass"
    # the header-and-offset-table check reads Blender's multi-part layout; a cut copy is not whole
    assert exr.is_complete(path, ["ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z"])
    (tmp_path / "cut.exr").write_bytes(path.read_bytes()[:-3])
    assert not exr.is_complete(tmp_path / "cut.exr")
    # the combined pass equals Blender's own pixels: the same render written as a plain RGBA EXR, read by Blender
    scene = bpy.context.scene
    settings = scene.render.image_settings
    if bpy.app.version >= (5, 0, 0):
        settings.media_type = "IMAGE"
    settings.file_format = "OPEN_EXR"
    settings.color_mode = "RGBA"
    settings.color_depth = "32"
    scene.render.filepath = str(tmp_path / "plain.####")
    bpy.ops.render.render(animation=True)
    combined = frame["ViewLayer.Combined.RGBA"].astype(np.float32)
    assert combined[..., :3].max() > 0.01, "the render should not be black"
    np.testing.assert_allclose(combined, _blender_pixels(tmp_path / "plain.0001.exr"), rtol=1e-5, atol=1e-6)


def test_we_read_blender_tilted_depth(tmp_path):
    """A wall seen at an angle: every pixel's Z equals the pinhole model's depth for that ray."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    _render_plane_scene(str(tmp_path / "r.####"), 5.0)
    wall = bpy.data.objects["wall"]
    wall.rotation_euler = (0.0, math.radians(30.0), 0.0)
    wall.location = (0.0, 0.0, 0.0)
    bpy.context.view_layer.update()
    bpy.ops.render.render(animation=True)
    depth = exr.read_frame(tmp_path / "r.0001.exr", ["ViewLayer.Depth.Z"])["ViewLayer.Depth.Z"]
    # the wall plane: world normal n, point p0; ray through pixel centre hits at t, depth = t * dir_z
    mw = wall.matrix_world
    p0 = np.array(mw @ __import__("mathutils").Vector((0, 0, -5.0)))
    n = np.array((mw.to_3x3() @ __import__("mathutils").Vector((0, 0, 1))).normalized())
    w = h = 32
    f_px = 50.0 / 36.0 * w
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dirs = np.stack([(xs + 0.5 - w / 2) / f_px, -(ys + 0.5 - h / 2) / f_px, -np.ones_like(xs)], -1)
    t = (p0 @ n) / (dirs @ n)
    expected = t  # dir z component is -1, so distance along the axis is t
    np.testing.assert_allclose(depth, expected, rtol=2e-3)
