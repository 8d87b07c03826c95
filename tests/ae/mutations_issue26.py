"""Issue 26 mutation table (a measurement, not a test): put each defect back, run the test that guards it, record,
restore with git checkout.  Run by hand from anywhere: python3 tests/ae/mutations_issue26.py (writes /tmp/mut/table.md)."""
import os
import subprocess
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = f"{ROOT}/.venv/bin/python -m pytest -q -p no:cacheprovider -x"
NODE = "node --test"
M = [
 ("1 focal distance by English display name only", "ae_scripts/dreamrooms_layers.jsxinc",
  'var found = findParam(blur, "ADBE Camera Lens Blur-0013", "Blur Focal Distance", what);',
  'var found = { prop: prop(blur, "Blur Focal Distance", what), via: "display name" };',
  f"cd tests/ae && {NODE} --test-name-pattern='defect 1: a localised' test/ae.test.js"),
 ("2 model: Orientation non-spatial", "tests/ae/lib/aedom.js",
  "{ type: PropertyValueType.ThreeD_SPATIAL, value: [0, 0, 0], spatial: true });",
  "{ type: PropertyValueType.ThreeD, value: [0, 0, 0] });",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 2' test/issue26.test.js"),
 ("2 library: 2-value spatial tangents on a 3D property", "ae_scripts/dreamrooms_dom.jsxinc",
  "p.setSpatialTangentsAtKey(k, [0, 0, 0], [0, 0, 0]);", "p.setSpatialTangentsAtKey(k, /** @type {any} */ ([0, 0]), /** @type {any} */ ([0, 0]));",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 2' test/issue26.test.js"),
 ("3 OCIO project treated as Adobe (ICC working space set)", "ae_scripts/dreamrooms_dom.jsxinc",
  "        if (isOcio()) {\n            // an OCIO", "        if (false) {\n            // an OCIO",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 3' test/issue26.test.js"),
 ("4 reused footage not reloaded", "ae_scripts/dreamrooms_project.jsxinc",
  "/** @type {FileSource} */ (item.mainSource).reload();", "// no reload",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 4: a rerun reloads' test/issue26.test.js"),
 ("4 interpretation overwritten before the frame-count check", "ae_scripts/dreamrooms_project.jsxinc",
  "        var frames = Math.round(item.duration * item.frameRate);",
  "        item.mainSource.conformFrameRate = c.fps;\n        item.pixelAspect = c.pixel_aspect;\n        var frames = Math.round(item.duration * item.frameRate);",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 4: a failed frame-count' test/issue26.test.js"),
 ("4 --update ignored (always a new version)", "ae_scripts/dreamrooms.jsxinc",
  "var upd = opts.update ? P.beginUpdate(data.comp.name, PRECOMP) : null;", "var upd = null;",
  f"cd tests/ae && {NODE} --test-name-pattern='update' test/issue26.test.js"),
 ("5 dust with Screen", "ae_scripts/dreamrooms_layers.jsxinc",
  "dust.blendingMode = BlendingMode.ADD;", "dust.blendingMode = BlendingMode.SCREEN;",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 5: the dust' test/issue26.test.js"),
 ("6 nulls with the old R @ Rx(90) formula", "core/dreamrooms/ae/camera.py",
  "    return orientation(normalised_rotation(np.asarray(matrix, dtype=np.float64)))",
  "    return orientation(normalised_rotation(np.asarray(matrix, dtype=np.float64)) @ rotation_zyx(np.pi / 2, 0.0, 0.0))",
  f"{PY} tests/core/test_ae_comp.py -k 'null'"),
 ("7 map layers as guide layers", "ae_scripts/dreamrooms_layers.jsxinc",
  "        layer.enabled = false;\n        return layer;", "        layer.guideLayer = true;\n        return layer;",
  f"cd tests/ae && {NODE} --test-name-pattern='control layers' test/comp.test.js"),
 ("8 Displacement Map wraps edges (-0007 = 1)", "ae_scripts/dreamrooms_layers.jsxinc",
  'prop(disp, "ADBE Displacement Map-0007", what).setValue(0);', 'prop(disp, "ADBE Displacement Map-0007", what).setValue(1);',
  f"cd tests/ae && {NODE} --test-name-pattern='builds the comp' test/ae.test.js"),
 ("8 Expand Output left to its default", "ae_scripts/dreamrooms_layers.jsxinc",
  'prop(disp, "ADBE Displacement Map-0008", what).setValue(0);', '',
  f"cd tests/ae && {NODE} --test-name-pattern='builds the comp' test/ae.test.js"),
 ("8 only first and last frame checked", "ae_scripts/dreamrooms.jsxinc",
  "var files = frameFiles(base, fd.path, fd.frame_count);", "var files = [childFile(base, fd.path), childFile(base, fd.last_path)];",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 8: a gap' test/issue26.test.js"),
 ("8 displayStartTime on every version", "ae_scripts/dreamrooms_layers.jsxinc",
  "if (parseFloat(app.version) >= 17.1) {", "if (false) {",
  f"cd tests/ae && {NODE} --test-name-pattern='displayStartFrame' test/issue26.test.js"),
 ("8 (examined) zoom x aspect for a vertical fit, as Blender's convert_lens", "core/dreamrooms/ae/camera.py",
  "    return lens_mm * height / sensor_mm", "    return lens_mm * height * pixel_aspect / sensor_mm",
  f"{PY} tests/core/test_ae_issue26.py -k zoom"),
 ("9 enums back to the old values (ADD 5213, SCREEN 5220, FOOTAGE 3814, groups swapped)", "tests/ae/lib/enums.js",
  "const BlendingMode = { NORMAL: 5212, ADD: 5220, SCREEN: 5222,", "const BlendingMode = { NORMAL: 5212, ADD: 5213, SCREEN: 5220,",
  f"cd tests/ae && {NODE} --test-name-pattern='enum value' test/issue26.test.js"),
 ("9 model conformFrameRate up to 999", "tests/ae/lib/aedom.js",
  "v > 99) aeFail(`conformFrameRate: ${v} out of range 0 to 99`)", "v > 999) aeFail(`conformFrameRate: ${v} out of range 0 to 999`)",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 9: addComp' test/issue26.test.js"),
 ("9 model addComp fps up to 999", "tests/ae/lib/aedom.js",
  "checkRange('addComp', fps, 1, 99);", "checkRange('addComp', fps, 1, 999);",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 9: addComp' test/issue26.test.js"),
 ("9 Levels gamma 0.1..10", "tests/ae/lib/effects.js",
  "{ type: ONE, value: 1, min: 0, max: 5 }], // GOT (-0005 is Gamma)", "{ type: ONE, value: 1, min: 0.1, max: 10 }], // GOT (-0005 is Gamma)",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 9: addComp' test/issue26.test.js"),
 ("9 model imports RGBA EXRs straight", "tests/ae/lib/aedom.js",
  "src.hasAlpha ? AlphaMode.PREMULTIPLIED : AlphaMode.IGNORE;", "src.hasAlpha ? AlphaMode.STRAIGHT : AlphaMode.IGNORE;",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 9: addComp' test/issue26.test.js"),
 ("9 no fps cap in the AE export", "core/dreamrooms/ae/comp.py",
  "    if not 1.0 <= shot.fps <= MAX_FPS:", "    if False:",
  f"{PY} tests/core/test_ae_issue26.py -k fps"),
 ("10 dreamrooms mask sequences ignored (only mask*.A of the beauty file)", "core/dreamrooms/export/sources.py",
  "    _matte_sequences(shot, src, keys)\n", "",
  f"{PY} tests/core/test_ae_issue26.py -k 'mattes'"),
 ("10 the original defect: only mask*.A of the beauty file (no mask sequences, no mask.<label>)", "core/dreamrooms/export/sources.py",
  "    _matte_sequences(shot, src, keys)\n    _beauty_file_layers(src, keys[src.beauty_seq])",
  "    _beauty_file_layers(src, keys[src.beauty_seq])\n    src.masks = {k: v for k, v in src.masks.items() if v[1].endswith('.A')}",
  f"{PY} tests/core/test_ae_issue26.py -k 'mattes_are_exported'"),
 ("10 same, end to end in the node model", "core/dreamrooms/export/sources.py",
  "    _matte_sequences(shot, src, keys)\n", "",
  f"cd tests/ae && {NODE} --test-name-pattern='defect 10: the (masked|rendered)' test/ae.test.js"),
 ("10 reveal matte not made a track matte", "ae_scripts/dreamrooms_layers.jsxinc",
  '} else if (mf.role === "reveal") {', '} else if (mf.role === "none") {',
  f"cd tests/ae && {NODE} --test-name-pattern='reveal' test/issue26.test.js"),
 ("11 Cryptomatte header dropped", "core/dreamrooms/ae/relayer.py",
  "extra = {**attributes, **crypto} if", "extra = attributes if",
  f"{PY} tests/core/test_ae_issue26.py -k crypto"),
 ("11 spaces kept in file names", "core/dreamrooms/export/sources.py",
  '    return re.sub(r"\\s+", "_", safe_name(name)) or "shot"', '    return safe_name(name)',
  f"{PY} tests/core/test_ae_issue26.py -k crypto"),
 ("11 --dust help says Screen", "core/dreamrooms/commands/ae.py",
  "added with Add: right over scene-linear 32 bpc", "Screen",
  f"{PY} tests/core/test_ae_issue26.py -k metadata"),
]
rows = []
for name, f, old, new, cmd in M:
    p = os.path.join(ROOT, f)
    s = open(p).read()
    if s.count(old) != 1:
        rows.append((name, f, "MUTATION NOT APPLIED (pattern count %d)" % s.count(old), ""))
        continue
    open(p, "w").write(s.replace(old, new))
    try:
        r = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        failed = [l.strip() for l in out.splitlines() if l.startswith("not ok") or l.startswith("FAILED") or l.startswith("# fail")]
        rows.append((name, f, "FAILS (rc %d)" % r.returncode if r.returncode else "passes (!)", "; ".join(failed)[:300]))
    finally:
        subprocess.run(["git", "checkout", "--", f], cwd=ROOT)
    print(rows[-1], flush=True)
os.makedirs("/tmp/mut", exist_ok=True)
with open("/tmp/mut/table.md", "w") as t:
    t.write("| defect put back | file | result | failing test |\n|---|---|---|---|\n")
    for r in rows:
        t.write("| " + " | ".join(x.replace("|", "/") for x in r) + " |\n")
