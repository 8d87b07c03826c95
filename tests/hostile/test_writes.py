"""Round two, defects 2, 3 and 5 of issue 24: writes are confined like reads. An output folder that is a symlink
out of the shot, a planted temp name or a symlinked shot.json never makes a stage write or delete outside it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hostile.helpers import edit_manifest, snapshot_full
from hostile.helpers import one_line as _one_line
from dreamrooms.shot import exr

WALK = ("walk", "--model", "cppn-walk", "--frames", "3", "--size", "32x16")




def _link_out(shot: Path, folder: str, target: Path) -> None:
    """Replace SHOT/folder by a symlink to `target` (what an archive can carry)."""
    p = shot / folder
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)


def _stage(shot: Path, stage: str) -> tuple[str, ...]:
    return {"walk": (*WALK, "--out", shot, "--overwrite"),
            "depth": ("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite", "--preview"),
            "layers": ("layers", shot, "--count", "2"),
            "mask": ("mask", shot, "--out", shot, "--from-depth"),
            "ae": ("ae", shot, "--workers", "1")}[stage]


@pytest.mark.parametrize("stage,folder", [("walk", "layers"), ("depth", "depth"), ("depth", "preview"),
                                          ("layers", "depth"), ("mask", "masks"), ("ae", "ae"), ("ae", "ae/beauty")])
def test_output_folder_symlinked_out_is_refused(shot, sentinel, run_cli, stage, folder):
    """Repro 2: `ln -s ../O S/layers` (or depth/, preview/, masks/, ae/, ae/beauty/) then a stage: one line, and
    nothing in O is written or deleted (the walk used to delete O/walk.victim.exr and write 6 frames there)."""
    (sentinel / "walk.0001.exr").write_text("victim\n")
    (sentinel / "beauty").mkdir()
    (sentinel / "beauty" / "base.0099.exr").write_text("victim\n")
    if stage == "ae":
        code, _, err = run_cli("ae", shot, "--workers", "1")   # a first export, so ae/ and its folders exist
        assert code == 0, err
    _link_out(shot, folder, sentinel if folder != "ae/beauty" else sentinel / "beauty")
    before = snapshot_full(sentinel)
    code, _, err = run_cli(*_stage(shot, stage))
    _one_line(code, err, str(sentinel) if folder != "ae/beauty" else "beauty")
    assert snapshot_full(sentinel) == before


def test_ae_out_the_user_names_may_be_anywhere(shot, tmp_path, run_cli):
    """A path the user types is the user's choice: `ae --out` outside the shot (through a symlink too) works."""
    real = tmp_path / "elsewhere"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    code, _, err = run_cli("ae", shot, "--workers", "1", "--out", tmp_path / "link" / "comp")
    assert code == 0, err
    assert (real / "comp" / "shot.jsx").is_file()


def test_planted_temp_symlinks_are_never_written_through(shot, tmp_path, run_cli):
    """Repro 3: 3000 symlinks `S/.shot.json.<pid>.tmp -> ../victim` for guessable pids (this process's among
    them): depth --overwrite works, the victim is untouched and shot.json stays a plain file."""
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    pid = os.getpid()
    for n in range(max(1, pid - 1500), pid + 1500):
        os.symlink(victim, shot / f".shot.json.{n}.tmp")
        os.symlink(victim, shot / "depth" / f".walk.0001.exr.{n}.tmp")
    before = victim.stat()
    code, _, err = run_cli(*_stage(shot, "depth"))
    assert code == 0, err
    assert victim.read_text() == "victim\n" and victim.stat().st_mtime_ns == before.st_mtime_ns
    assert (shot / "shot.json").is_file() and not (shot / "shot.json").is_symlink()
    assert exr.read_frame(shot / "depth/walk.0001.exr", ["Y"])["Y"].shape == (16, 32)


def test_symlinked_target_file_is_replaced_not_followed(shot, sentinel, run_cli):
    """Frame names that are symlinks out (`layers/walk.0002.exr -> O/victim`): a resuming walk refuses them in one
    line; `walk --overwrite` of another walk deletes the links (never what they point to) and writes its frames."""
    (shot / "layers" / "walk.0002.exr").unlink()
    os.symlink(sentinel / "victim.0002.exr", shot / "layers" / "walk.0002.exr")
    os.symlink(sentinel / "victim1.txt", shot / "layers" / "walk.0007.exr")   # a stale frame: --overwrite deletes it
    before = snapshot_full(sentinel)
    code, _, err = run_cli(*WALK, "--out", shot)   # a rerun resumes: it would read the frame through the link
    _one_line(code, err, "walk.0002.exr", "symlink")
    code, _, err = run_cli(*WALK[:3], "--frames", "4", "--size", "32x16", "--out", shot, "--overwrite")
    assert code == 0, err
    assert snapshot_full(sentinel) == before
    assert not (shot / "layers" / "walk.0002.exr").is_symlink() and not (shot / "layers" / "walk.0007.exr").exists()
    assert exr.read_frame(shot / "layers/walk.0002.exr", ["RGBA"])["RGBA"].shape == (16, 32, 4)


def test_shot_json_symlinked_out_is_not_read_or_written(shot, sentinel, run_cli):
    """shot.json itself a symlink to a manifest outside: refused in one line; the outside file is untouched."""
    outside = sentinel / "shot.json"
    shutil.copy(shot / "shot.json", outside)
    (shot / "shot.json").unlink()
    os.symlink(outside, shot / "shot.json")
    before = snapshot_full(sentinel)
    code, _, err = run_cli(*_stage(shot, "depth"))
    _one_line(code, err, "shot.json")
    assert snapshot_full(sentinel) == before


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    """Temporaries are made 0600 and exclusively; the file that lands has the mode of the file it replaces, else
    0666 less the umask (what open() would have given)."""
    from dreamrooms.atomic import write_text_atomic

    old = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "new.txt", "a")
        (tmp_path / "kept.txt").write_text("x")
        os.chmod(tmp_path / "kept.txt", 0o604)
        write_text_atomic(tmp_path / "kept.txt", "b")
    finally:
        os.umask(old)
    from dreamrooms import atomic
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK
    assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o604
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "new.txt"]


def test_confine_resolves_the_root_once(tmp_path, monkeypatch):
    """confine() is called for every frame: the shot root is resolved once, not per frame."""
    from dreamrooms.shot import paths

    root = tmp_path / "shot"
    (root / "layers").mkdir(parents=True)
    paths._resolved_root.cache_clear()
    for n in range(50):
        paths.confine(root, f"layers/walk.{n:04d}.exr", "test")
    info = paths._resolved_root.cache_info()
    assert info.misses == 1 and info.hits == 49


def test_aliased_sequences_are_refused_at_load(shot, run_cli):
    """Repro 5: `sequences.depth.pattern = layers/walk.####.exr` then depth --overwrite: one line naming both
    sequences, and every colour frame is byte for byte what it was."""
    edit_manifest(shot, sequences__depth__pattern="layers/walk.####.exr")
    colour = {p.name: p.read_bytes() for p in (shot / "layers").iterdir()}
    code, _, err = run_cli(*_stage(shot, "depth"))
    _one_line(code, err, "sequences.walk", "sequences.depth", "same files")
    assert {p.name: p.read_bytes() for p in (shot / "layers").iterdir()} == colour


@pytest.mark.parametrize("pattern", ["./layers/walk.####.exr", "layers//walk.#####.exr", "Layers/walk.####.exr",
                                     "alias/walk.####.exr"])
def test_aliases_by_spelling_or_symlinked_folder_are_refused(shot, run_cli, pattern):
    """The same files named another way (`./`, `//`, letter case, more `#` for numbers that long, or a folder
    inside the shot that is a symlink to layers/) are the same files."""
    os.symlink("layers", shot / "alias")
    data = edit_manifest(shot, sequences__depth__pattern=pattern)
    if "#####" in pattern:   # 5-digit padding names the same files only from frame 10000 on
        data["sequences"]["walk"]["frame_offset"] = 9999
        data["sequences"]["depth"]["frame_offset"] = 9999
        (shot / "shot.json").write_text(__import__("json").dumps(data))
    code, _, err = run_cli("shot", "info", shot)
    _one_line(code, err, "same files")


def test_render_writes_through_a_private_folder(shot, sentinel, tmp_path):
    """Blender's render writes by name: it writes into a fresh folder made inside render/ and the frame is renamed
    into place, so temp names planted for the next pids do not matter; a render/ symlinked out is refused."""
    import subprocess
    import sys

    from hostile.helpers import dr, dr_env

    assert dr("room", shot, "--engine", "BLENDER_WORKBENCH").code == 0
    headless = Path(__file__).resolve().parents[2] / "blender_addon" / "headless.py"

    def render():
        return subprocess.run([sys.executable, str(headless), "render", str(shot), "--frames", "1-1",
                               "--blend", str(shot / "room.blend")],
                              env=dr_env(), capture_output=True, text=True, timeout=120)
    _link_out(shot, "render", sentinel)
    before = snapshot_full(sentinel)
    p = render()
    assert "Traceback" not in p.stderr and p.returncode == 1, p.stderr
    assert snapshot_full(sentinel) == before
    (shot / "render").unlink()
    (shot / "render").mkdir()
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text()) if Path("/proc/sys/kernel/ns_last_pid").exists() else 1
    for n in range(last, last + 300):
        os.symlink(sentinel / "victim1.txt", shot / "render" / f".render.0001.{n}.tmp.exr")
    p = render()
    assert p.returncode == 0, p.stderr
    assert snapshot_full(sentinel) == before
    assert exr.read_frame(shot / "render/render.0001.exr")["ViewLayer.Combined.RGBA"].shape == (16, 32, 4)
    assert not [f for f in (shot / "render").iterdir() if f.name.startswith(".render-")]
