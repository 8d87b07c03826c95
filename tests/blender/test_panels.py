"""Every panel draws in every state, and everything it draws exists: properties on their owners,
operators and their properties (a recording layout stands in for Blender's, which background mode lacks)."""
from __future__ import annotations

import importlib
import sys

import bpy
import pytest


class Layout:
    """Records what a panel draws and checks each name against Blender's RNA."""

    def __init__(self, log):
        self.log, self.enabled, self.active = log, True, True

    def column(self, **_):
        return Layout(self.log)

    row = box = split = column

    def prop(self, data, name, **_):
        assert name in data.bl_rna.properties, f"{data.bl_rna.identifier} has no property {name!r}"
        self.log.append(("prop", name))

    def label(self, **_):
        self.log.append(("label", _.get("text", "")))

    def progress(self, **kw):
        self.log.append(("progress", kw.get("factor")))

    def operator(self, idname, **_):
        mod, name = idname.split(".")
        op = getattr(getattr(bpy.ops, mod), name)
        props = op.get_rna_type().properties
        self.log.append(("operator", idname))

        log = self.log

        class Props:
            def __setattr__(self, key, value):
                assert key in props, f"{idname} has no property {key!r}"
                log.append(("set", f"{idname}.{key}", value))
        return Props()

    def operator_menu_enum(self, idname, prop, **kw):
        self.operator(idname).__setattr__(prop, None)
        self.log.append(("menu", idname))


def _draw_all(pkg, context) -> list:
    panels = importlib.import_module(f"{pkg.__name__}.panels")
    log: list = []
    for cls in panels.classes:
        fake = type("P", (), {"layout": Layout(log)})()
        cls.draw(fake, context)
    return log


@pytest.mark.parametrize("layout", ["plane", "room", "corridor", "layered"])
def test_panels_draw_every_layout(registered, layout):
    s = bpy.context.scene.dreamrooms
    s.layout = layout
    s.no_focus = False
    for engine in ("CYCLES", "BLENDER_WORKBENCH"):
        bpy.context.scene.render.engine = engine
        log = _draw_all(registered, bpy.context)
        assert ("prop", "engine") in log and ("operator", "dreamrooms.build") in log
        assert ("menu", "dreamrooms.pick_depth_model") in log and ("menu", "dreamrooms.pick_walk_model") in log
    assert (("prop", "with_plane") in log) == (layout == "corridor")


def test_main_panel_shows_a_running_job_with_cancel(registered, tmp_path):
    job_ui = importlib.import_module(f"{registered.__name__}.job_ui")
    jobs = importlib.import_module(f"{registered.__name__}.jobs")
    job = jobs.Job([sys.executable, "-c", "import time; time.sleep(60)"], label="depth")
    job_ui.track(bpy.context.scene, job)
    try:
        log = _draw_all(registered, bpy.context)
        assert ("operator", "dreamrooms.cancel_job") in log and any(k == "progress" for k, _ in log)
    finally:
        job_ui.stop_all()


def test_job_buttons_and_the_run_operator_come_from_the_job_kinds_registry(registered):
    """Every job button names a registered kind, and the run operator offers exactly the registry's kinds."""
    job_kinds = importlib.import_module(f"{registered.__name__}.job_kinds")
    log = _draw_all(registered, bpy.context)
    buttons = {v for k, name, v in (e for e in log if e[0] == "set") if name == "dreamrooms.run_job.kind"}
    assert buttons and buttons <= set(job_kinds.KINDS)
    enum = bpy.ops.dreamrooms.run_job.get_rna_type().properties["kind"].enum_items
    assert [e.identifier for e in enum] == list(job_kinds.KINDS)


def test_every_layout_has_one_builder_and_its_panel_options(addon_scene):
    """room_options.LAYOUTS is the one list: each name has a builder, and the Build panel shows the options that
    name's layout uses (room options for rooms, plane options for planes)."""
    from dreamrooms.room_options import LAYOUTS

    panels = importlib.import_module(f"{addon_scene.pkg.__name__}.panels")
    assert set(addon_scene.build.BUILDERS) == set(LAYOUTS)
    assert "room_width" in panels.build_options("room") and "room_width" not in panels.build_options("plane")
    assert "fill_behind" in panels.build_options("plane") and "fill_behind" not in panels.build_options("layered")
    assert panels.build_options("corridor")[0] == "layout" and panels.build_options("corridor")[-1] == "lens"
