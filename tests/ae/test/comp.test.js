'use strict';
// What the library builds, one behaviour at a time, in the AE model (the real library, real EXR
// headers, the effect tables with their sources).  Each test names the issue-15 defect or feature it
// guards; the report's mutation table lists which test fails when that defect is put back.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { LIBRARY } = require('../lib/checks');
const { createAE, EFFECTS, FootageItem, CompItem, FolderItem, CameraLayer, AVLayer, TrackMatteType, BlendingMode,
  grainOutput, lowBitEffectsOnPicture } = require('../lib/aedom');
const { libraryHarness, makeFolder, shotData, build, FPS, assertExpressionsResolve } = require('../lib/fixture');

const { folder, base, aeWith, comps, layer, effect } = libraryHarness(test);
const mainComp = (ae) => comps(ae).find((c) => c.layers._list.some((l) => l.name === 'dreamrooms controls'));
const param = (fx, suffix) => fx._children.find((p) => p.matchName === fx.matchName + suffix);
function assertClean(ae) {
  assert.equal(ae.app.project._items.length, 0, `left behind: ${ae.app.project._items.map((i) => i.name).join(', ')}`);
  assert.equal(ae.app.undo.depth, 0);
  assert.equal(ae.app.alerts.length, 1);
}

// ---- defect 1: Blur Focal Distance through maxValue --------------------------------------------------
for (const max of [1, 255]) {
  test(`defect 1: focus (0..1 in the data) is written through Blur Focal Distance's maxValue (${max})`, () => {
    const saved = EFFECTS['ADBE Camera Lens Blur'].params;
    EFFECTS['ADBE Camera Lens Blur'].params = saved.map(([m, n, s]) => [m, n, n === 'Blur Focal Distance' ? { ...s, max } : s]);
    try {
      const ae = aeWith();
      const data = shotData();
      assert.ok(build(ae, data, base()), JSON.stringify(ae.app.alerts));
      const blur = effect(layer(mainComp(ae), 's beauty'), 'ADBE Camera Lens Blur');
      const focal = blur.property('Blur Focal Distance');
      assert.equal(focal.numKeys, 2);
      assert.equal(focal.keyValue(1), 0.25 * max);
      assert.equal(focal.keyValue(2), 0.75 * max);
      assert.match(focal.expression, new RegExp(`\\* ${max}$`));
    } finally {
      EFFECTS['ADBE Camera Lens Blur'].params = saved;
    }
  });
}

test('defect 1: a focus outside 0..1 is refused by the model (out of range) and nothing is left', () => {
  const ae = aeWith();
  const data = shotData();
  data.depth_blur.focus = { times: [0], values: [236] }; // the old 0..255 data
  assert.equal(build(ae, data, base()), null);
  assertClean(ae);
  assert.match(ae.app.alerts[0].message, /out of range/);
});

// ---- defect 2: a linear working space, restored on failure ---------------------------------------------
test('defect 2: linear32 sets a linearised working space, 32 bpc and linear blending', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const p = ae.app.project;
  assert.equal(p.bitsPerChannel, 32);
  assert.equal(p.linearBlending, true);
  assert.equal(p.workingSpace, 'sRGB IEC61966-2.1');
  assert.equal(p.linearizeWorkingSpace, true);
});

test('defect 2: --working-space keep linearises the project\'s own space; no offered space fails clearly', () => {
  const ae = aeWith();
  ae.app.project.workingSpace = 'Adobe RGB (1998)';
  const data = shotData();
  data.colour.working_spaces = [];
  assert.ok(build(ae, data, base()));
  assert.equal(ae.app.project.workingSpace, 'Adobe RGB (1998)');
  assert.equal(ae.app.project.linearizeWorkingSpace, true);
  const ae2 = aeWith({ colorProfiles: ['ProPhoto RGB'] });
  assert.equal(build(ae2, shotData(), base()), null);
  assertClean(ae2);
  assert.match(ae2.app.alerts[0].message, /working spaces/);
});

test('defect 2: a failed build restores bit depth, blending, working space and linearisation', () => {
  const ae = aeWith({ effects: ['ADBE Camera Lens Blur', 'ADBE Displacement Map', 'ADBE Slider Control', 'ADBE Color Control', 'ADBE Fill', 'ADBE Easy Levels2', 'VISINF Grain Implant'] });
  const p = ae.app.project;
  p.bitsPerChannel = 16; p.linearBlending = false; p.workingSpace = 'Adobe RGB (1998)'; p.linearizeWorkingSpace = false;
  assert.equal(build(ae, shotData(), base()), null); // dust needs Fractal Noise
  assertClean(ae);
  assert.match(ae.app.alerts[0].message, /Fractal Noise/);
  assert.deepEqual([p.bitsPerChannel, p.linearBlending, p.workingSpace, p.linearizeWorkingSpace], [16, false, 'Adobe RGB (1998)', false]);
});

test('defect 2: an After Effects without scriptable colour (15.x) refuses linear32 clearly, builds without it', () => {
  const ae = aeWith({ version: '15.1x20' });
  const data = shotData();
  data.min_ae_version = 15.0;
  assert.equal(build(ae, data, base()), null);
  assertClean(ae);
  assert.match(ae.app.alerts[0].message, /working space/);
  ae.app.alerts.length = 0;
  assert.ok(build(ae, data, base(), { linear32: false }));
});

// ---- defect 3: one place for depth of field; the camera's DOF exported -----------------------------
test('defect 3: the camera carries depth of field (aperture keyed, DOF on) with or without AE lens blur', () => {
  for (const depthBlur of [true, false]) {
    const ae = aeWith();
    assert.ok(build(ae, shotData(), base(), { depth_blur: depthBlur }));
    const comp = mainComp(ae);
    const cam = comp.layers._list.find((l) => l instanceof CameraLayer);
    const co = cam.property('ADBE Camera Options Group');
    assert.equal(co.property('ADBE Camera Depth of Field').value, 1);
    assert.deepEqual([co.property('ADBE Camera Aperture').keyValue(1), co.property('ADBE Camera Aperture').keyValue(2)], [14.3, 12.0]);
    assert.equal(Boolean(effect(layer(comp, 's beauty'), 'ADBE Camera Lens Blur')), depthBlur, 'lens blur only when AE does the DOF');
  }
});

test('defect 3: Camera Lens Blur radius is keyed from the data (not a fixed 15 px) and driven by the control null', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const comp = mainComp(ae);
  const radius = param(effect(layer(comp, 's beauty'), 'ADBE Camera Lens Blur'), '-0001');
  assert.deepEqual([radius.keyValue(1), radius.keyValue(2)], [12, 18]);
  assert.match(radius.expression, /effect\("Blur Radius"\)\(1\)/);
  const slider = layer(comp, 'dreamrooms controls').property('ADBE Effect Parade')._children.find((e) => e.name === 'Blur Radius');
  assert.deepEqual([slider._children[0].keyValue(1), slider._children[0].keyValue(2)], [12, 18]);
});

// ---- defect 4: Add Grain final output, out of the HDR path; dust moves ------------------------------------
test('defect 4: Add Grain renders the full frame (Final Output), grains its own grey solid, and the dust evolves', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const comp = mainComp(ae);
  const grain = layer(comp, 'Grain');
  assert.equal(grainOutput(effect(grain, 'VISINF Grain Implant')), 'final output');
  assert.deepEqual(lowBitEffectsOnPicture(comp), [], 'no 16 bpc effect sees the 32 bpc picture');
  assert.equal(grain.adjustmentLayer, false);
  assert.deepEqual(grain.source.mainSource.color, [0.5, 0.5, 0.5]);
  assert.equal(grain.blendingMode, BlendingMode.LINEAR_LIGHT);
  const evolution = param(effect(layer(comp, 'Dust'), 'ADBE Fractal Noise'), '-0023');
  assert.match(evolution.expression, /time/);
});

// ---- defect 5: the maps agree; the blur map is displaced with the beauty; edges wrap ---------------------
test('defect 5: the blur map is the map displaced like the beauty (precomp), both read luminance and wrap edges', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const comp = mainComp(ae);
  const beauty = layer(comp, 's beauty');
  const mapLayer = layer(comp, 's disparity map');
  const disp = effect(beauty, 'ADBE Displacement Map');
  const blur = effect(beauty, 'ADBE Camera Lens Blur');
  assert.equal(param(disp, '-0001').value, mapLayer.index);
  const blurMap = comp.layers[param(blur, '-0010').value];
  assert.ok(blurMap.source instanceof CompItem, 'the blur map is a precomp');
  const inner = blurMap.source.layers[1];
  assert.equal(inner.source, mapLayer.source, 'the precomp holds the same map');
  const innerDisp = effect(inner, 'ADBE Displacement Map');
  for (const s of ['-0002', '-0004', '-0006', '-0007', '-0008']) assert.equal(param(innerDisp, s).value, param(disp, s).value, s);
  assert.equal(param(disp, '-0002').value, 5, 'luminance');
  for (const s of ['-0003', '-0005']) {
    assert.equal(param(innerDisp, s).expression.replace(/^comp\("s"\)/, 'thisComp'), param(disp, s).expression, `${s} reads the same slider`);
    assert.match(param(innerDisp, s).expression, /^comp\("s"\)/, 'the precomp reads the main comp\'s controls');
  }
  assert.ok(assertExpressionsResolve(ae) >= 8);
});

// ---- defect 7: pixel aspect ---------------------------------------------------------------------------
test('defect 7: a non-square shot gives a comp and footage with its pixel aspect (even from EXRs that say 1.0)', () => {
  const dir = folder(1.0);
  const ae = aeWith();
  assert.ok(build(ae, shotData('s', 2.0), dir));
  assert.equal(mainComp(ae).pixelAspect, 2.0);
  const footage = ae.app.project._items.filter((i) => i instanceof FootageItem && i.file);
  assert.ok(footage.length >= 6);
  for (const f of footage) assert.equal(f.pixelAspect, 2.0, f.name);
});

// ---- defect 8: stale frames ---------------------------------------------------------------------------
test('defect 8: a frame beyond the shot\'s range in a sequence folder fails clearly and builds nothing', () => {
  const dir = folder();
  fs.copyFileSync(path.join(dir, 'map', 's_map.0003.exr'), path.join(dir, 'map', 's_map.0004.exr'));
  const ae = aeWith();
  assert.equal(build(ae, shotData(), dir), null);
  assertClean(ae);
  assert.match(ae.app.alerts[0].message, /s disparity map' has 4 frames/);
});

// ---- defect 9: rerun, versions, rollback, old AE --------------------------------------------------------
test('defect 9: a rerun versions folder and comps by name and reuses the imported footage', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const imports = ae.app.log.filter((e) => e[0] === 'import').length;
  assert.ok(build(ae, shotData(), base()));
  assert.equal(ae.app.log.filter((e) => e[0] === 'import').length, imports, 'no second import');
  const names = ae.app.project._items.map((i) => i.name);
  for (const n of ['s', 's v2']) assert.ok(names.filter((x) => x === n).length === 2, `one folder and one comp named ${n}: ${names}`);
  assert.ok(names.includes('s map displaced v2'));
  const footage = ae.app.project._items.filter((i) => i instanceof FootageItem && i.file);
  assert.equal(footage.length, 6, 'footage not duplicated');
});

test('defect 9: a rerun that fails leaves the first import untouched', () => {
  const ae = aeWith();
  assert.ok(build(ae, shotData(), base()));
  const before = ae.app.project._items.length;
  const data = shotData();
  data.depth_blur.focus = { times: [0], values: [2] };
  assert.equal(build(ae, data, base()), null);
  assert.equal(ae.app.project._items.length, before);
  assert.ok(ae.app.project._items.filter((i) => i instanceof FootageItem && i.file).every((i) => !i._removed));
});

test('defect 9: an item whose interpretation fails after import is removed too (rollback list order)', () => {
  const ae = aeWith();
  const data = shotData();
  data.comp.fps = 1000; // conformFrameRate takes 0..999: throws right after the first import
  data.depth_blur = null; data.displacement = null; data.camera = null;
  assert.equal(build(ae, data, base(), { linear32: false }), null);
  assertClean(ae);
  assert.match(ae.app.alerts[0].message, /conformFrameRate/);
});

test('defect 9: After Effects 17.0 builds it (legacy track mattes); 16.x is refused by the default minimum', () => {
  const ae = aeWith({ version: '17.0x25' });
  const comp = build(ae, shotData(), base());
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  const target = layer(comp, 's beauty [s person]');
  assert.equal(target.trackMatteType, TrackMatteType.ALPHA);
  assert.equal(target.trackMatteLayer, comp.layers[target.index - 1]);
  const old = aeWith({ version: '16.1x3' });
  assert.equal(build(old, shotData(), base()), null);
  assertClean(old);
  assert.match(old.app.alerts[0].message, /needs After Effects 17 or newer/);
});

// ---- compositor features -------------------------------------------------------------------------------
test('passes: each pass in a "passes" folder, a layer off in the comp; none without the option', () => {
  const ae = aeWith();
  const comp = build(ae, shotData(), base());
  const passes = ae.app.project._items.find((i) => i instanceof FolderItem && i.name === 'passes');
  assert.ok(passes);
  assert.deepEqual(passes.items.map((i) => i.name).sort(), ['s cryptomatte', 's mist', 's vector']);
  for (const n of ['s mist', 's vector', 's cryptomatte']) assert.equal(layer(comp, n).enabled, false, n);
  const ae2 = aeWith();
  const comp2 = build(ae2, shotData(), base(), { passes: false });
  assert.ok(!layer(comp2, 's mist'));
  assert.ok(!ae2.app.log.some((e) => e[0] === 'import' && e[1].includes('passes')));
});

test('masks: a matte layer cuts a copy of the beauty with setTrackMatte (23.0+), matte off', () => {
  const ae = aeWith();
  const comp = build(ae, shotData(), base());
  const target = layer(comp, 's beauty [s person]');
  const matte = layer(comp, 's person');
  assert.equal(target.trackMatteLayer, matte);
  assert.equal(target.trackMatteType, TrackMatteType.ALPHA);
  assert.equal(matte.enabled, false);
  assert.equal(target.source, layer(comp, 's beauty').source);
});

test('map layers are control layers (issue 26 defect 7); nulls per room/plane are 3D; the fog is a coloured solid cut by the map', () => {
  const ae = aeWith();
  const comp = build(ae, shotData(), base());
  const blurMap = comp.layers._list.find((l) => l.source instanceof CompItem && l.name !== 'Fog matte');
  for (const l of [layer(comp, 's disparity map'), blurMap]) {
    assert.equal(l.enabled, false, `${l.name}: video switch off (a control layer)`);
    assert.equal(l.guideLayer, false, `${l.name}: not a guide layer`);
  }
  for (const [n, pos] of [['room 1', [8, 4, 0]], ['plane 1', [8, 4, 300]]]) {
    const l = layer(comp, n);
    assert.ok(l.nullLayer && l.threeDLayer, n);
    assert.deepEqual(l.property('ADBE Transform Group').property('ADBE Position').value, pos);
  }
  const fog = layer(comp, 'Fog');
  assert.equal(fog.trackMatteType, TrackMatteType.LUMA_INVERTED);
  assert.equal(fog.trackMatteLayer, layer(comp, 'Fog matte'));
  assert.match(param(effect(fog, 'ADBE Fill'), '-0002').expression, /Fog Color/);
  const levels = effect(layer(comp, 'Fog matte'), 'ADBE Easy Levels2');
  assert.match(param(levels, '-0003').expression, /Fog Density/);
  assert.match(param(levels, '-0004').expression, /Fog Start/);
  assertExpressionsResolve(ae);
});

test('controls: one null whose sliders carry the data, read by every effect expression', () => {
  const ae = aeWith();
  const comp = build(ae, shotData(), base());
  const ctl = layer(comp, 'dreamrooms controls');
  const names = ctl.property('ADBE Effect Parade')._children.map((e) => e.name);
  assert.deepEqual(names, ['Focus', 'Blur Radius', 'Displace X', 'Displace Y', 'Fog Start', 'Fog Density', 'Fog Color']);
  const focus = ctl.property('ADBE Effect Parade')._children[0]._children[0];
  assert.deepEqual([focus.keyValue(1), focus.keyValue(2)], [0.25, 0.75]);
  assert.ok(Math.abs(comp.displayStartTime * FPS - 1001) < 1e-9, 'comp starts at the shot\'s first frame number');
});

test('a comp name that is hostile to code stays a string literal in the precomp\'s expressions', () => {
  const nasty = 'q"u\'o\\te\nnl */ é漢 \u2028 $x';
  const ae = aeWith();
  const data = shotData(nasty);
  const comp = build(ae, data, base());
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  assert.equal(comp.name, nasty);
  const pre = comps(ae).find((c) => c !== comp && c.name.startsWith(nasty));
  const expr = param(effect(pre.layers[1], 'ADBE Displacement Map'), '-0003').expression;
  assert.ok(/^[\x20-\x7e]*$/.test(expr), expr);
  assertExpressionsResolve(ae);
});
