'use strict';
// A comp description (format 2) over small real EXR sequences, for testing the library's behaviour
// one feature at a time.  The end-to-end tests (ae.test.js) use what `dreamrooms ae` writes instead.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const assert = require('node:assert/strict');
const { ROOT, LIBRARY } = require('./checks');
const { CompItem, createAE } = require('./aedom');

const PYTHON = process.env.DREAMROOMS_PYTHON
  || [path.join(ROOT, '.venv', 'bin', 'python'), path.join(ROOT, '.venv', 'Scripts', 'python.exe')].find((p) => fs.existsSync(p))
  || 'python3';
const FPS = 24;
const FRAMES = 3;

const seq = (dir, base) => ({ pattern: `${dir}/${base}.####.exr`, path: [...dir.split('/'), `${base}.0001.exr`], last: [...dir.split('/'), `${base}.0003.exr`] });
const SEQUENCES = {
  beauty: { ...seq('beauty', 's'), channels: ['R', 'G', 'B', 'A', 'depth.Z'], role: 'beauty', alpha: 'premultiplied', name: 's beauty' },
  depth: { ...seq('map', 's_map'), channels: ['R', 'G', 'B'], role: 'map', alpha: 'ignore', name: 's disparity map' },
  'mask:person': { ...seq('mask_person', 's_person'), channels: ['A'], role: 'mask', alpha: 'straight', name: 's person' },
  'pass:mist': { ...seq('passes/mist', 's_mist'), channels: ['R', 'G', 'B'], role: 'pass', alpha: 'ignore', name: 's mist' },
  'pass:vector': { ...seq('passes/vector', 's_vector'), channels: ['R', 'G', 'B', 'A'], role: 'pass', alpha: 'ignore', name: 's vector' },
  'pass:cryptomatte': { ...seq('passes/cryptomatte', 's_cryptomatte'), channels: ['R', 'G', 'B', 'A'], role: 'pass', alpha: 'ignore', name: 's cryptomatte' },
  reveal: { ...seq('reveal', 's_reveal'), channels: ['A'], role: 'reveal', alpha: 'straight', name: 's reveal', optional: true },
};

/** Write the fixture's frames under a new temporary folder; returns it. */
function makeFolder(pixelAspect = 1.0) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-fixture-'));
  const spec = Object.values(SEQUENCES).map((s) => ({ pattern: s.pattern, frames: [1, 2, 3], channels: s.channels, pixel_aspect: pixelAspect }));
  execFileSync(PYTHON, [path.join(__dirname, '..', 'make_frames.py'), dir], { input: JSON.stringify(spec), stdio: ['pipe', 'pipe', 'pipe'] });
  return dir;
}

const anim = (times, values) => ({ times, values });
const last = (FRAMES - 1) / FPS;

/** The comp description of the fixture folder (every feature on). */
function shotData(name = 's', pixelAspect = 1.0) {
  return {
    format: 'dreamrooms-ae-shot', version: 2, generator: 'fixture', min_ae_version: 17.0, shot_name: name,
    comp: { name, width: 16, height: 8, pixel_aspect: pixelAspect, fps: FPS, frame_count: FRAMES, first_frame: 1001 },
    colour: { working_spaces: ['sRGB IEC61966-2.1', 'HDTV (Rec. 709)'], linearize: true, bits_per_channel: 32, linear_blending: true },
    footage: Object.entries(SEQUENCES).filter(([, s]) => !s.optional)
      .map(([id, s]) => ({ id, name: s.name, role: s.role, path: s.path, last_path: s.last, alpha: s.alpha, frame_count: FRAMES })),
    camera: {
      name: `${name} camera`, position: anim([0, last], [[8, 4, -100], [9, 4, -90]]), orientation: anim([0], [[0, 0, 0]]),
      zoom: anim([0], [40]), focus_distance: anim([0, last], [400, 500]), aperture: anim([0, last], [14.3, 12.0]),
    },
    maps: { kind: 'disparity', near: 2, far: 8, white: 'near', formula: 'clip((1/d - 1/far) / (1/near - 1/far), 0, 1)' },
    depth_blur: { map: 'depth', target: 'beauty', radius: anim([0, last], [12, 18]), focus: anim([0, last], [0.25, 0.75]) },
    displacement: { map: 'depth', target: 'beauty', max_horizontal: anim([0, last], [0, 20]), max_vertical: anim([0, last], [0, 10]) },
    fog: { map: 'depth', color: [0.6, 0.7, 0.8], density: 2, start: 0.1 },
    nulls: [{ name: 'room 1', position: [8, 4, 0], orientation: [0, 0, 0] }, { name: 'plane 1', position: [8, 4, 300], orientation: [0, 90, 0] }],
    options: { linear32: true, camera: true, depth_blur: true, displacement: true, grain: true, dust: true, fog: true, passes: true },
  };
}

/** Run dreamrooms.build in the model as the panel does; returns the comp or null (the alert is recorded). */
function build(ae, data, base, override = null) {
  return ae.evalSource(`(function () {
    try { return dreamrooms.build(${JSON.stringify(data)}, new Folder(${JSON.stringify(base)}), ${JSON.stringify(override)}); }
    catch (e) { alert(dreamrooms.errorText(e), "dreamrooms", true); return null; }
  })()`);
}

/** Every expression of `comp` (and of comps it reads) names a layer and an effect that exist. */
function assertExpressionsResolve(ae) {
  const comps = ae.app.project._items.filter((i) => i instanceof CompItem);
  const re = /(thisComp|comp\(("(?:[^"\\]|\\.)*")\))\.layer\(("(?:[^"\\]|\\.)*")\)\.effect\(("(?:[^"\\]|\\.)*")\)\(1\)/g;
  let seen = 0;
  for (const c of comps) {
    const walk = (g) => {
      for (const p of g._children || []) {
        if (p._children) { walk(p); continue; }
        if (!p.expression || !p.expression.includes('.layer(')) continue;
        const refs = [...p.expression.matchAll(re)];
        assert.ok(refs.length, `expression of ${p.name} reads no control: ${p.expression}`);
        for (const m of refs) {
          const target = m[1] === 'thisComp' ? c : comps.find((x) => x.name === JSON.parse(m[2]));
          assert.ok(target, `comp ${m[2]} of ${p.expression}`);
          const l = target.layers._list.find((x) => x.name === JSON.parse(m[3]));
          assert.ok(l, `layer ${m[3]} in ${target.name}`);
          assert.ok(l.property('ADBE Effect Parade')._children.some((e) => e.name === JSON.parse(m[4])), `effect ${m[4]}`);
          seen++;
        }
      }
    };
    for (const l of c.layers._list) walk(l);
  }
  return seen;
}

/**
 * The set-up library tests share: shot folders removed after the test file, one shared folder, a fresh AE with
 * the library loaded, and lookups of comps, layers and effects.
 */
function libraryHarness(test) {
  const folders = [];
  const folder = (pa) => { const d = makeFolder(pa); folders.push(d); return d; };
  test.after(() => { for (const d of folders) fs.rmSync(d, { recursive: true, force: true }); });
  let shared = null;
  return {
    folder,
    removeAfter: (d) => { folders.push(d); return d; },   // another temp folder of the test file
    base: () => shared || (shared = folder()),
    aeWith(opts = {}) { const ae = createAE(opts); ae.runFile(LIBRARY); return ae; },
    comps: (ae) => ae.app.project._items.filter((i) => i instanceof CompItem),
    layer: (comp, name) => comp.layers._list.find((l) => l.name === name),
    effect: (l, match) => l.property('ADBE Effect Parade')._children.find((e) => e.matchName === match),
  };
}

module.exports = { libraryHarness, makeFolder, shotData, build, assertExpressionsResolve, SEQUENCES, FPS, FRAMES };
