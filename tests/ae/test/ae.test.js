'use strict';
// The After Effects checks without After Effects: every .jsx parses as ES3, type-checks against
// types-for-adobe, and generated shot scripts run in a recording AE DOM model that must end up
// holding the comp, footage, camera keys and effects the shot describes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const { parseES3, typecheck, ROOT, LIBRARY, PANEL } = require('../lib/checks');
const { createAE, describeLayer, fileEncode, fileDecode, FootageItem, CompItem, FolderItem, CameraLayer,
  KeyframeInterpolationType, AutoOrientType, AlphaMode } = require('../lib/aedom');

const PYTHON = process.env.DREAMROOMS_PYTHON
  || [path.join(ROOT, '.venv', 'bin', 'python'), path.join(ROOT, '.venv', 'Scripts', 'python.exe')].find((p) => fs.existsSync(p))
  || 'python3';

let shots = null;
let tmpRoot = null;
function generatedShots() {
  if (shots) return shots;
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-ae-'));
  const out = execFileSync(PYTHON, [path.join(__dirname, '..', 'make_shots.py'), tmpRoot], { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  shots = Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l)).map((s) => [s.name, s]));
  return shots;
}
test.after(() => { if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true }); });

/** Copy a generated shot folder so a test can damage it. */
function copyShot(shot) {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-ae-copy-'));
  const folder = path.join(dst, path.basename(shot.folder));
  fs.cpSync(shot.folder, folder, { recursive: true });
  return { folder, script: path.join(folder, 'ae', 'shot.jsx'), cleanup: () => fs.rmSync(dst, { recursive: true, force: true }) };
}

const close = (a, b, eps = 1e-6) => Math.abs(a - b) <= eps * Math.max(1, Math.abs(b));
function assertValuesClose(actual, expected, what) {
  if (Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, what);
    expected.forEach((e, i) => assert.ok(close(actual[i], e), `${what}[${i}]: ${actual[i]} != ${e}`));
  } else {
    assert.ok(close(actual, expected), `${what}: ${actual} != ${expected}`);
  }
}
/** A property's animation matches the data: static value, or exactly those keys, linear. */
function assertAnim(prop, anim, what) {
  if (anim.times.length === 1) {
    assert.equal(prop.numKeys, 0, `${what}: static value expected`);
    assertValuesClose(prop.value, anim.values[0], what);
    return;
  }
  assert.equal(prop.numKeys, anim.times.length, `${what}: key count`);
  anim.times.forEach((t, i) => {
    assertValuesClose(prop.keyTime(i + 1), t, `${what} key ${i + 1} time`);
    assertValuesClose(prop.keyValue(i + 1), anim.values[i], `${what} key ${i + 1} value`);
    assert.equal(prop.keyInInterpolationType(i + 1), KeyframeInterpolationType.LINEAR);
    assert.equal(prop.keyOutInterpolationType(i + 1), KeyframeInterpolationType.LINEAR);
    if (prop.isSpatial) assert.equal(prop.keySpatialAutoBezier(i + 1), false, `${what}: spatial auto-bezier would overshoot holds`);
  });
}

function comps(app) { return app.project._items.filter((i) => i instanceof CompItem); }

// ---- generated scripts ---------------------------------------------------------------------------------
for (const kind of ['blender', 'nasty']) {
  test(`generated ${kind} shot.jsx: ASCII, ES3, type-checks, one include + one data literal + one call`, () => {
    const s = generatedShots()[kind];
    const text = fs.readFileSync(s.script, 'utf8');
    assert.ok(/^[\x00-\x7f]*$/.test(text), 'pure ASCII');
    assert.ok(!text.includes('\u2028') && !text.includes('\u2029'));
    const ast = parseES3(s.script);
    const dir = path.dirname(s.script);
    assert.equal(typecheck([path.join(dir, 'dreamrooms.jsx'), s.script]), '');
    parseES3(path.join(dir, 'dreamrooms.jsx'));
    assert.equal(fs.readFileSync(path.join(dir, 'dreamrooms.jsx'), 'utf8'), fs.readFileSync(LIBRARY, 'utf8'), 'library copy is current');
    const lines = text.split('\n');
    assert.equal(lines[0], '//@target aftereffects');
    assert.equal(lines[1], '//@include "dreamrooms.jsx"');
    // exactly one statement: dreamrooms.run(<object literal>, $.fileName)
    assert.equal(ast.body.length, 1);
    const call = ast.body[0].expression;
    assert.equal(call.type, 'CallExpression');
    assert.equal(text.slice(call.callee.start, call.callee.end), 'dreamrooms.run');
    assert.equal(call.arguments.length, 2);
    assert.equal(call.arguments[0].type, 'ObjectExpression');
    assert.equal(text.slice(call.arguments[1].start, call.arguments[1].end), '$.fileName');
    // the literal holds only literals (no identifiers or calls smuggled in by a name)
    const walk = (n) => {
      if (n.type === 'ObjectExpression') n.properties.forEach((p) => { assert.equal(p.key.type, 'Literal'); walk(p.value); });
      else if (n.type === 'ArrayExpression') n.elements.forEach(walk);
      else if (n.type === 'UnaryExpression') { assert.equal(n.operator, '-'); walk(n.argument); }
      else assert.equal(n.type, 'Literal', `unexpected ${n.type} in data`);
    };
    walk(call.arguments[0]);
    // and the literal is exactly the data (names survive byte for byte)
    assert.deepEqual(JSON.parse(text.slice(call.arguments[0].start, call.arguments[0].end)), s.expect.data);
  });

  test(`generated ${kind} shot.jsx builds the comp, footage, camera and effects in the AE model`, () => {
    const s = generatedShots()[kind];
    const data = s.expect.data;
    const ae = createAE();
    ae.runFile(s.script);
    assert.deepEqual(ae.app.alerts, []);
    assert.deepEqual(ae.app.undo.groups, ['dreamrooms: import shot']);
    assert.equal(ae.app.undo.depth, 0);
    assert.equal(ae.app.project.bitsPerChannel, 32);
    assert.equal(ae.app.project.linearBlending, true);

    // imports: exactly the expected files, as image sequences of the whole frame range
    const imports = ae.app.log.filter((e) => e[0] === 'import');
    assert.deepEqual(imports.map((e) => e[1]), s.expect.imports);
    assert.ok(imports.every((e) => e[2] === true), 'imported as sequences');
    for (const p of s.expect.imports) assert.ok(fs.existsSync(p), p);
    const footage = ae.app.project._items.filter((i) => i instanceof FootageItem && i.mainSource.file);
    assert.equal(footage.length, data.footage.length);
    for (const item of footage) {
      assert.equal(item.mainSource.conformFrameRate, data.comp.fps);
      assert.equal(item.mainSource.frames.length, data.comp.frame_count);
      assert.ok(close(item.duration, data.comp.frame_count / data.comp.fps));
      assert.equal(item.parentFolder.name, data.shot_name);
    }
    const beautyItem = footage.find((i) => i.name === data.footage[0].name);
    assert.equal(beautyItem.mainSource.alphaMode, AlphaMode.PREMULTIPLIED);
    assert.deepEqual(beautyItem.mainSource.channels.filter((c) => c !== 'depth.Z').sort(), ['A', 'B', 'G', 'R']);
    assert.ok(beautyItem.mainSource.channels.includes('depth.Z'), 'beauty keeps depth.Z for AE 3D channel effects');
    assert.equal(beautyItem.width, data.comp.width);

    // the comp
    const cs = comps(ae.app);
    assert.equal(cs.length, 1);
    const comp = cs[0];
    assert.equal(comp.name, s.expect.comp.name);
    assert.equal(comp.width, s.expect.comp.width);
    assert.equal(comp.height, s.expect.comp.height);
    assert.equal(comp.frameRate, s.expect.comp.fps);
    assert.ok(close(comp.duration, s.expect.comp.frames / s.expect.comp.fps));
    assert.equal(comp.displayStartFrame, data.comp.first_frame);
    assert.ok(comp.openedInViewer);

    // layers: one per sequence with the right source; maps hidden
    const layers = comp.layers._list.map(describeLayer);
    for (const f of data.footage) {
      const l = layers.find((x) => x.name === f.name);
      assert.ok(l, `layer ${f.name}`);
      assert.equal(l.source, path.join(path.dirname(s.script), ...f.path));
      assert.equal(l.enabled, f.role === 'beauty');
    }

    // camera
    const cam = comp.layers._list.find((l) => l instanceof CameraLayer);
    assert.ok(cam, 'camera layer');
    assert.equal(comp.layers._list.indexOf(cam), 0, 'camera on top');
    assert.equal(cam.autoOrient, AutoOrientType.NO_AUTO_ORIENT);
    const tr = cam.property('ADBE Transform Group');
    assertAnim(tr.property('ADBE Position'), data.camera.position, 'position');
    assertAnim(tr.property('ADBE Orientation'), data.camera.orientation, 'orientation');
    assertAnim(cam.property('ADBE Camera Options Group').property('ADBE Camera Zoom'), data.camera.zoom, 'zoom');
    assertAnim(cam.property('ADBE Camera Options Group').property('ADBE Camera Focus Distance'), data.camera.focus_distance, 'focus');
    // the value at every frame time is the per-frame camera (keys only where values change, linear)
    assert.ok(data.camera.position.times.length >= 2);
    const dense = s.expect.camera_per_frame;
    for (const [prop, key] of [[tr.property('ADBE Position'), 'position'], [tr.property('ADBE Orientation'), 'orientation'],
      [cam.property('ADBE Camera Options Group').property('ADBE Camera Zoom'), 'zoom']]) {
      dense[key].forEach((v, i) => assertValuesClose(prop.valueAtTime(i / data.comp.fps, false), v, `${key} at frame ${i}`));
    }
    // the nasty shot's camera holds still for its first frame: the hold is two equal keys, not one
    if (kind === 'nasty') assert.deepEqual(data.camera.position.values[0], data.camera.position.values[1]);

    // effects on the beauty: displacement then lens blur, both reading the depth map layer
    const beauty = comp.layers._list.find((l) => l.name === data.footage[0].name);
    const depthLayer = comp.layers._list.find((l) => l.name === data.footage[1].name);
    const fx = beauty.property('ADBE Effect Parade');
    assert.deepEqual(fx._children.map((e) => e.matchName), ['ADBE Displacement Map', 'ADBE Camera Lens Blur']);
    const disp = fx.property('ADBE Displacement Map');
    assert.equal(disp.property('ADBE Displacement Map-0001').value, depthLayer.index);
    assert.equal(disp.property('ADBE Displacement Map-0002').value, 5);
    assert.equal(disp.property('ADBE Displacement Map-0004').value, 5);
    assertAnim(disp.property('ADBE Displacement Map-0003'), data.displacement.max_horizontal, 'max horizontal');
    assertAnim(disp.property('ADBE Displacement Map-0005'), data.displacement.max_vertical, 'max vertical');
    const blur = fx.property('ADBE Camera Lens Blur');
    assert.equal(blur.property('ADBE Camera Lens Blur-0010').value, depthLayer.index);
    assert.equal(blur.property('ADBE Camera Lens Blur-0001').value, data.depth_blur.radius);
    assertAnim(blur.property('Blur Focal Distance'), data.depth_blur.focus, 'blur focal distance');

    // optional layers
    const names = comp.layers._list.map((l) => l.name);
    assert.equal(names.includes('Grain'), data.options.grain);
    assert.equal(names.includes('Dust'), data.options.dust);
  });
}

// ---- failures leave nothing behind -----------------------------------------------------------------------
function assertNothingBuilt(ae) {
  assert.equal(ae.app.project._items.length, 0, `left behind: ${ae.app.project._items.map((i) => i.name).join(', ')}`);
  assert.equal(ae.app.undo.depth, 0);
  assert.equal(ae.app.project.bitsPerChannel, 8);
  assert.equal(ae.app.alerts.length, 1);
}

test('a missing frame gives one alert naming the file and builds nothing', () => {
  const c = copyShot(generatedShots().nasty);
  try {
    const data = generatedShots().nasty.expect.data;
    const last = path.join(c.folder, 'ae', ...data.footage[1].last_path);
    fs.rmSync(last);
    const ae = createAE();
    ae.runFile(c.script);
    assert.equal(ae.app.project._items.length, 0);
    assert.equal(ae.app.alerts.length, 1);
    assert.ok(ae.app.alerts[0].message.includes(last), ae.app.alerts[0].message);
    assert.match(ae.app.alerts[0].message, /incomplete/);
  } finally { c.cleanup(); }
});

test('a shot folder moved elsewhere still imports its own files (paths resolve from the script)', () => {
  const c = copyShot(generatedShots().blender);
  try {
    const ae = createAE();
    ae.runFile(c.script);
    assert.deepEqual(ae.app.alerts, []);
    const imports = ae.app.log.filter((e) => e[0] === 'import').map((e) => e[1]);
    assert.ok(imports.length >= 2);
    for (const p of imports) assert.ok(p.startsWith(path.join(c.folder, 'ae') + path.sep), p);
  } finally { c.cleanup(); }
});

test('an effect parameter missing by display name fails clearly and removes everything built', () => {
  const ae = createAE();
  // a Camera Lens Blur whose parameters carry other display names (as in a localised AE)
  const { EFFECTS } = require('../lib/aedom');
  const saved = EFFECTS['ADBE Camera Lens Blur'].params;
  EFFECTS['ADBE Camera Lens Blur'].params = saved.map(([m, n, spec]) => [m, n === 'Blur Focal Distance' ? 'Distance focale du flou' : n, spec]);
  try {
    ae.runFile(generatedShots().blender.script);
  } finally {
    EFFECTS['ADBE Camera Lens Blur'].params = saved;
  }
  assertNothingBuilt(ae);
  assert.match(ae.app.alerts[0].message, /Blur Focal Distance/);
  assert.match(ae.app.alerts[0].message, /display name/);
});

test('a missing effect (dust needs Fractal Noise) fails clearly and removes footage, comp and solids', () => {
  const ae = createAE({ effects: ['ADBE Camera Lens Blur', 'ADBE Displacement Map', 'VISINF Grain Implant'] });
  ae.runFile(generatedShots().nasty.script);
  assertNothingBuilt(ae);
  assert.match(ae.app.alerts[0].message, /Fractal Noise/);
});

test('an After Effects older than the shot asks for is refused before anything is built', () => {
  const ae = createAE({ version: '23.6x12' });
  ae.runFile(generatedShots().blender.script);
  assertNothingBuilt(ae);
  assert.match(ae.app.alerts[0].message, /needs After Effects 24 or newer/);
});

// ---- the panel -----------------------------------------------------------------------------------------------
test('panel: docks into a Panel, imports a shot folder with its options', () => {
  const s = generatedShots().blender;
  const ae = createAE({ dialogs: { selectFolder: [] } });
  ae.runFile(PANEL); // floating palette when not docked
  const panel = ae.evalSource('dreamroomsBuildPanel(new Panel())');
  assert.equal(panel.type, 'panel');
  const button = (t) => panel.find((c) => c.type === 'button' && c.text === t);
  const box = (t) => panel.find((c) => c.type === 'checkbox' && c.text.indexOf(t) === 0);
  button('Import').onClick();
  assert.match(ae.app.alerts.pop().message, /Choose a shot/);
  ae.record.dialogs.selectFolder.push(ae.Folder(s.folder));
  button('Shot folder...').onClick();
  box('3D camera').value = false;
  box('Grain').value = true;
  button('Import').onClick();
  assert.deepEqual(ae.app.alerts, []);
  const comp = comps(ae.app)[0];
  assert.ok(comp);
  assert.ok(!comp.layers._list.some((l) => l instanceof CameraLayer), 'camera unticked');
  assert.ok(comp.layers._list.some((l) => l.name === 'Grain'), 'grain ticked');
  assert.equal(ae.context.dreamroomsOptions, undefined, 'options are used once');
});
