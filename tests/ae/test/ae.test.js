'use strict';
// End to end without After Effects: `dreamrooms ae` on fixture shots (tests/ae/make_shots.py), then the
// generated shot.jsx (ES3, types, one data literal equal to comp.json) run in the recording AE model,
// which must end up holding the comp, footage, camera keys, effects and layers the shot describes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const { parseES3, typecheck, ROOT, LIBRARY, DOM, PROJECT, LAYERS } = require('../lib/checks');
const { createAE, describeLayer, FootageItem, CompItem, CameraLayer, EFFECTS,
  KeyframeInterpolationType, AutoOrientType, AlphaMode, TrackMatteType } = require('../lib/aedom');
const { assertExpressionsResolve } = require('../lib/fixture');

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


// ---- generated scripts ---------------------------------------------------------------------------------
for (const kind of ['blender', 'nasty']) {
  test(`generated ${kind} shot.jsx: ASCII, ES3, type-checks, one include + one data literal (= comp.json) + one call`, () => {
    const s = generatedShots()[kind];
    const text = fs.readFileSync(s.script, 'utf8');
    assert.ok(/^[\x00-\x7f]*$/.test(text), 'pure ASCII');
    assert.ok(!text.includes('\u2028') && !text.includes('\u2029'));
    const ast = parseES3(s.script);
    const dir = path.dirname(s.script);
    assert.equal(typecheck([path.join(dir, 'dreamrooms_dom.jsxinc'), path.join(dir, 'dreamrooms_project.jsxinc'), path.join(dir, 'dreamrooms_layers.jsxinc'), path.join(dir, 'dreamrooms.jsxinc'), s.script]), '');
    for (const f of [DOM, PROJECT, LAYERS, LIBRARY]) {
      assert.equal(fs.readFileSync(path.join(dir, path.basename(f)), 'utf8'), fs.readFileSync(f, 'utf8'), 'library copy is current');
    }
    const lines = text.split('\n');
    assert.equal(lines[0], '//@target aftereffects');
    assert.equal(lines[1], '//@include "dreamrooms.jsxinc"');
    assert.equal(ast.body.length, 1);
    const call = ast.body[0].expression;
    assert.equal(call.type, 'CallExpression');
    assert.equal(text.slice(call.callee.start, call.callee.end), 'dreamrooms.run');
    assert.equal(call.arguments.length, 2);
    assert.equal(call.arguments[0].type, 'ObjectExpression');
    assert.equal(text.slice(call.arguments[1].start, call.arguments[1].end), '$.fileName');
    const walk = (n) => {
      if (n.type === 'ObjectExpression') n.properties.forEach((p) => { assert.equal(p.key.type, 'Literal'); walk(p.value); });
      else if (n.type === 'ArrayExpression') n.elements.forEach(walk);
      else if (n.type === 'UnaryExpression') { assert.equal(n.operator, '-'); walk(n.argument); }
      else assert.equal(n.type, 'Literal', `unexpected ${n.type} in data`);
    };
    walk(call.arguments[0]);
    assert.deepEqual(JSON.parse(text.slice(call.arguments[0].start, call.arguments[0].end)), s.expect.data);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'comp.json'), 'utf8')), s.expect.data, 'comp.json is the same data');
  });

  test(`generated ${kind} shot.jsx builds the comp, footage, camera, effects and layers in the AE model`, () => {
    const s = generatedShots()[kind];
    const data = s.expect.data;
    const ae = createAE();
    ae.runFile(s.script);
    assert.deepEqual(ae.app.alerts, []);
    assert.deepEqual(ae.app.undo.groups, ['dreamrooms: import shot']);
    assert.equal(ae.app.undo.depth, 0);
    const p = ae.app.project;
    assert.deepEqual([p.bitsPerChannel, p.linearBlending, p.workingSpace, p.linearizeWorkingSpace], [32, true, 'sRGB IEC61966-2.1', true]);

    // imports: exactly the expected files, as image sequences of the whole frame range
    const imports = ae.app.log.filter((e) => e[0] === 'import');
    assert.deepEqual(imports.map((e) => e[1]), s.expect.imports);
    assert.ok(imports.every((e) => e[2] === true), 'imported as sequences');
    const footage = p._items.filter((i) => i instanceof FootageItem && i.mainSource.file);
    assert.equal(footage.length, data.footage.length);
    for (const item of footage) {
      const fd = data.footage.find((f) => f.name === item.name);
      assert.equal(item.mainSource.conformFrameRate, data.comp.fps);
      assert.equal(item.mainSource.frames.length, data.comp.frame_count);
      assert.equal(item.pixelAspect, data.comp.pixel_aspect);
      assert.equal(item.parentFolder.name, fd.role === 'pass' ? 'passes' : data.shot_name);
    }
    const beautyItem = footage.find((i) => i.name === data.footage[0].name);
    assert.equal(beautyItem.mainSource.alphaMode, AlphaMode.PREMULTIPLIED);
    assert.deepEqual(beautyItem.mainSource.channels.filter((c) => c !== 'depth.Z').sort(), ['A', 'B', 'G', 'R']);
    assert.ok(beautyItem.mainSource.channels.includes('depth.Z'), 'beauty keeps depth.Z for AE 3D channel effects');

    // the comp
    const comp = p._items.find((i) => i instanceof CompItem && i.name === s.expect.comp.name);
    assert.ok(comp);
    assert.equal(comp.width, s.expect.comp.width);
    assert.equal(comp.height, s.expect.comp.height);
    assert.equal(comp.pixelAspect, s.expect.comp.pixel_aspect);
    assert.equal(comp.frameRate, s.expect.comp.fps);
    assert.ok(close(comp.duration, s.expect.comp.frames / s.expect.comp.fps));
    assert.equal(comp.displayStartFrame, data.comp.first_frame, 'displayStartFrame on 17.1+ (issue 26 defect 8)');
    assert.ok(comp.openedInViewer);

    // layers: one per sequence with the right source and role
    const layers = comp.layers._list;
    for (const f of data.footage) {
      const l = layers.find((x) => x.name === f.name);
      assert.ok(l, `layer ${f.name}`);
      assert.equal(describeLayer(l).source, path.join(path.dirname(s.script), ...f.path));
      if (f.role === 'beauty') assert.ok(l.enabled && !l.guideLayer);
      if (f.role === 'map') assert.ok(!l.enabled && !l.guideLayer, 'map layers are control layers (video off)');
      if (f.role === 'pass') assert.equal(l.enabled, false, 'passes are off');
      if (f.role === 'mask') {
        const target = layers.find((x) => x.trackMatteLayer === l);
        assert.ok(target && target.trackMatteType === TrackMatteType.ALPHA && l.enabled === false, `mask ${f.name}`);
      }
    }
    assert.equal(layers.some((l) => l.name === 'Fog'), data.options.fog);
    assert.equal(layers.some((l) => l.name === 'Grain'), data.options.grain);
    assert.equal(layers.some((l) => l.name === 'Dust'), data.options.dust);
    for (const n of data.nulls) assert.ok(layers.find((l) => l.name === n.name && l.nullLayer && l.threeDLayer), n.name);
    assertExpressionsResolve(ae);

    // camera
    const cam = layers.find((l) => l instanceof CameraLayer);
    assert.ok(cam, 'camera layer');
    assert.equal(layers.indexOf(cam), 0, 'camera on top');
    assert.equal(cam.autoOrient, AutoOrientType.NO_AUTO_ORIENT);
    const tr = cam.property('ADBE Transform Group');
    const co = cam.property('ADBE Camera Options Group');
    assertAnim(tr.property('ADBE Position'), data.camera.position, 'position');
    assertAnim(tr.property('ADBE Orientation'), data.camera.orientation, 'orientation');
    assertAnim(co.property('ADBE Camera Zoom'), data.camera.zoom, 'zoom');
    assertAnim(co.property('ADBE Camera Focus Distance'), data.camera.focus_distance, 'focus');
    assert.equal(co.property('ADBE Camera Depth of Field').value, data.camera.aperture ? 1 : 0);
    if (data.camera.aperture) assertAnim(co.property('ADBE Camera Aperture'), data.camera.aperture, 'aperture');
    assert.ok(data.camera.position.times.length >= 2);
    const dense = s.expect.camera_per_frame;
    for (const [prop, key] of [[tr.property('ADBE Position'), 'position'], [tr.property('ADBE Orientation'), 'orientation'],
      [co.property('ADBE Camera Zoom'), 'zoom']]) {
      dense[key].forEach((v, i) => assertValuesClose(prop.valueAtTime(i / data.comp.fps, false), v, `${key} at frame ${i}`));
    }
    if (kind === 'nasty') assert.deepEqual(data.camera.position.values[0], data.camera.position.values[1]);

    // effects on the beauty: displacement, then lens blur where AE does the depth of field
    const beauty = layers.find((l) => l.name === data.footage[0].name);
    const mapLayer = layers.find((l) => l.name === data.footage.find((f) => f.role === 'map').name);
    const fx = beauty.property('ADBE Effect Parade');
    const want = ['ADBE Displacement Map'].concat(data.options.depth_blur ? ['ADBE Camera Lens Blur'] : []);
    assert.deepEqual(fx._children.map((e) => e.matchName), want);
    assert.equal(data.options.depth_blur, kind === 'nasty', 'the Blender render keeps its own depth of field');
    const disp = fx.property('ADBE Displacement Map');
    assert.equal(disp.property('ADBE Displacement Map-0001').value, mapLayer.index);
    assert.equal(disp.property('ADBE Displacement Map-0002').value, 5);
    assert.equal(disp.property('ADBE Displacement Map-0007').value, 0, 'edge behaviour: no wrap');
    assert.equal(disp.property('ADBE Displacement Map-0008').value, 0, 'expand output set, off');
    const ctl = layers.find((l) => l.name === 'dreamrooms controls').property('ADBE Effect Parade');
    assertAnim(ctl.property('Displace X').property(1), data.displacement.max_horizontal, 'max horizontal');
    assertAnim(ctl.property('Displace Y').property(1), data.displacement.max_vertical, 'max vertical');
    assertAnim(ctl.property('Focus').property(1), data.depth_blur.focus, 'focus slider');
    if (data.options.depth_blur) {
      const blur = fx.property('ADBE Camera Lens Blur');
      const blurMap = comp.layers[blur.property('ADBE Camera Lens Blur-0010').value];
      assert.ok(blurMap.source instanceof CompItem && !blurMap.enabled, 'the displaced map precomp, a control layer');
      assertAnim(blur.property('ADBE Camera Lens Blur-0001'), data.depth_blur.radius, 'blur radius');
      const max = EFFECTS['ADBE Camera Lens Blur'].params.find((x) => x[1] === 'Blur Focal Distance')[2].max;
      assertAnim(blur.property('ADBE Camera Lens Blur-0013'), { times: data.depth_blur.focus.times, values: data.depth_blur.focus.values.map((v) => v * max) }, 'focal');
    }
  });
}

// ---- failures leave nothing behind -----------------------------------------------------------------------
function assertNothingBuilt(ae) {
  assert.equal(ae.app.project._items.length, 0, `left behind: ${ae.app.project._items.map((i) => i.name).join(', ')}`);
  assert.equal(ae.app.undo.depth, 0);
  assert.equal(ae.app.project.bitsPerChannel, 8);
  assert.equal(ae.app.project.workingSpace, 'None');
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
    assertNothingBuilt(ae);
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
    assert.ok(imports.length >= 5);
    for (const p of imports) assert.ok(p.startsWith(path.join(c.folder, 'ae') + path.sep), p);
  } finally { c.cleanup(); }
});

test('issue 26 defect 1: a localised After Effects builds the shot (Blur Focal Distance by matchName) and says so', () => {
  const ae = createAE({ locale: 'de' });
  ae.runFile(generatedShots().nasty.script);
  assert.deepEqual(ae.app.alerts, [], 'no error alert, and no notice needed');
  const comp = ae.app.project._items.find((i) => i instanceof CompItem && i.layers._list.some((l) => l.name === 'dreamrooms controls'));
  const beauty = comp.layers._list.find((l) => l.name === generatedShots().nasty.expect.data.footage[0].name);
  const focal = beauty.property('ADBE Effect Parade').property('ADBE Camera Lens Blur').property('ADBE Camera Lens Blur-0013');
  assert.notEqual(focal.name, 'Blur Focal Distance', 'the model shows a localised display name');
  assert.ok(focal.numKeys >= 1 || focal.expression, 'focus written');
  assert.match(comp.comment, /Blur Focal Distance was found by its matchName ADBE Camera Lens Blur-0013/);
});

test('issue 26 defect 1: without the matchName the English display name is the fallback (said), else a clear failure', () => {
  const saved = EFFECTS['ADBE Camera Lens Blur'].params;
  // an effect version whose focal distance has another matchName suffix
  EFFECTS['ADBE Camera Lens Blur'].params = saved.map(([m, n, spec]) => [n === 'Blur Focal Distance' ? '-0099' : m, n, spec]);
  try {
    const en = createAE();
    en.runFile(generatedShots().nasty.script);
    assert.deepEqual(en.app.alerts, []);
    const comp = en.app.project._items.find((i) => i instanceof CompItem && /found by/.test(i.comment));
    assert.match(comp.comment, /found by its display name 'Blur Focal Distance'/);
    const de = createAE({ locale: 'de' });
    de.runFile(generatedShots().nasty.script);
    assertNothingBuilt(de);
    assert.match(de.app.alerts[0].message, /ADBE Camera Lens Blur-0013 \('Blur Focal Distance'\) not found/);
  } finally {
    EFFECTS['ADBE Camera Lens Blur'].params = saved;
  }
});

test('a missing effect (dust needs Fractal Noise) fails clearly and removes footage, comps and solids', () => {
  const ae = createAE({ effects: Object.keys(EFFECTS).filter((m) => m !== 'ADBE Fractal Noise') });
  ae.runFile(generatedShots().nasty.script);
  assertNothingBuilt(ae);
  assert.match(ae.app.alerts[0].message, /Fractal Noise/);
});

test('an After Effects older than the shot asks for (17.0 by default) is refused before anything is built', () => {
  const ae = createAE({ version: '16.1x3' });
  ae.runFile(generatedShots().blender.script);
  assertNothingBuilt(ae);
  assert.match(ae.app.alerts[0].message, /needs After Effects 17 or newer/);
});

// ---- issue 26 defect 10: mattes from `dreamrooms mask` reach the comp as track mattes ------------------------
for (const kind of ['masked', 'rendered']) {
  test(`issue 26 defect 10: the ${kind} shot (dreamrooms mask, then dreamrooms ae) ends with its mattes as track mattes`, () => {
    const s = generatedShots()[kind];
    const data = s.expect.data;
    const ae = createAE();
    ae.runFile(s.script);
    assert.deepEqual(ae.app.alerts, []);
    const comp = ae.app.project._items.find((i) => i instanceof CompItem && i.name === s.expect.comp.name);
    const layers = comp.layers._list;
    const mattes = data.footage.filter((f) => f.role === 'mask' || f.role === 'reveal');
    assert.ok(mattes.some((f) => f.id === 'mask:foreground'), 'the dreamrooms mask matte is in the data');
    assert.equal(mattes.some((f) => f.role === 'reveal'), kind === 'rendered');
    for (const f of mattes) {
      const matte = layers.find((l) => l.name === f.name);
      const target = layers.find((l) => l.trackMatteLayer === matte);
      assert.ok(target, `${f.name} cuts a layer`);
      assert.equal(target.trackMatteType, TrackMatteType.ALPHA);
      assert.equal(matte.enabled, false, 'the matte itself is off');
      if (f.role === 'mask') assert.equal(target.source, layers.find((l) => l.name === data.footage[0].name).source, 'cuts the beauty');
      else assert.ok(target.adjustmentLayer, 'the reveal matte cuts the clean-up layer');
    }
    assert.ok(!data.footage.some((f) => f.role === 'pass' && /mask|reveal/.test(f.id)), 'no matte arrives as a pass');
  });
}
