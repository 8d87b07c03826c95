'use strict';
// Issue 26: After Effects as a real After Effects runs it.  One test per defect (the report's mutation
// table names which fails when that defect is put back), in the AE model (the real library, real EXR
// headers, tables with their public sources).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { LIBRARY, aeTypes } = require('../lib/checks');
const enums = require('../lib/enums');
const { createAE, EFFECTS, FootageItem, CompItem, CameraLayer, TrackMatteType, BlendingMode, AlphaMode,
  PropertyValueType, KeyframeInterpolationType } = require('../lib/aedom');
const { libraryHarness, makeFolder, shotData, build, SEQUENCES, FRAMES } = require('../lib/fixture');

const { folder, removeAfter, base, aeWith, comps, layer, effect } = libraryHarness(test);
const mainComps = (ae) => comps(ae).filter((c) => c.layers._list.some((l) => l.name === 'dreamrooms controls'));
const footageItems = (ae) => ae.app.project._items.filter((i) => i instanceof FootageItem && i.file);
const notes = (ae) => ae.evalSource('dreamrooms.notes()');

// ---- defect 9: the model's enums are the typings' ------------------------------------------------------
test('defect 9: every enum value of the model is the one types-for-adobe AfterEffects 26.0 declares', () => {
  const dts = fs.readFileSync(aeTypes('26.0'), 'utf8');
  let checked = 0;
  for (const name of ['AlphaMode', 'AutoOrientType', 'ImportAsType', 'KeyframeInterpolationType', 'PropertyValueType',
    'PropertyType', 'BlendingMode', 'TrackMatteType']) {
    const body = new RegExp(`declare enum ${name} \\{([\\s\\S]*?)\\n\\}`).exec(dts);
    assert.ok(body, name);
    const values = Object.fromEntries([...body[1].matchAll(/^\s*(\w+) = (\d+),/gm)].map((m) => [m[1], Number(m[2])]));
    for (const [k, v] of Object.entries(enums[name])) {
      assert.equal(v, values[k], `${name}.${k}`);
      checked++;
    }
  }
  assert.ok(checked >= 40);
});

test('defect 9: addComp takes 1..99 fps, conformFrameRate 0..99, Levels gamma 0..5, RGBA EXRs import premultiplied', () => {
  const ae = createAE();
  const items = ae.app.project.items;
  assert.throws(() => items.addComp('c', 100, 50, 1, 2, 120), /out of range 1 to 99/);
  assert.ok(items.addComp('c', 100, 50, 1, 2, 99));
  const io = new ae.context.ImportOptions(ae.File(path.join(base(), ...SEQUENCES.beauty.path)));
  io.sequence = true;
  const item = ae.app.project.importFile(io);
  assert.equal(item.mainSource.alphaMode, AlphaMode.PREMULTIPLIED, 'fnord OpenEXR.cpp: AEIO_Alpha_PREMUL with A');
  assert.throws(() => { item.mainSource.conformFrameRate = 120; }, /0 to 99/);
  const gamma = EFFECTS['ADBE Easy Levels2'].params.find((p) => p[0] === '-0005')[2];
  assert.deepEqual([gamma.min, gamma.max], [0, 5]);
});

// ---- defect 2: Orientation is spatial; the spatial key calls are right ------------------------------------
test('defect 2: a rotating camera keys Orientation through the spatial path (linear, no auto-bezier, zero 3D tangents)', () => {
  const ae = aeWith();
  const data = shotData();
  const last = (FRAMES - 1) / 24;
  data.camera.orientation = { times: [0, 1 / 24, last], values: [[0, 0, 0], [0, 10, 0], [0, 25, 5]] };
  const comp = build(ae, data, base());
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  const cam = comp.layers._list.find((l) => l instanceof CameraLayer);
  const ori = cam.property('ADBE Transform Group').property('ADBE Orientation');
  assert.equal(ori.isSpatial, true, 'aep_parser: Orientation is spatial');
  assert.equal(ori.propertyValueType, PropertyValueType.ThreeD_SPATIAL);
  assert.equal(ori.numKeys, 3);
  for (let k = 1; k <= 3; k++) {
    const key = ori._key(k);
    assert.equal(ori.keyInInterpolationType(k), KeyframeInterpolationType.LINEAR);
    assert.equal(key.autoBezier, false, 'auto-bezier off');
    assert.equal(key.continuous, false, 'not continuous');
    assert.deepEqual([key.inTangent, key.outTangent], [[0, 0, 0], [0, 0, 0]], 'zero tangents of 3 values');
  }
});

// ---- defect 3: OCIO projects ------------------------------------------------------------------------------
test('defect 3: an OCIO project keeps its config and working space, tags each footage item and tells the one click', () => {
  const cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-ocio-'));
  removeAfter(cfgDir);
  const config = path.join(cfgDir, 'config.ocio');
  fs.writeFileSync(config, 'ocio_profile_version: 2\ncolorspaces:\n  - !<ColorSpace>\n    name: ACEScg\n' +
    '  - !<ColorSpace>\n    name: Linear Rec.709 (sRGB)\n  - !<ColorSpace>\n    name: Raw\n');
  const ae = aeWith({ version: '25.0x1', ocio: { config, spaces: ['ACEScg', 'ACEScct', 'Linear Rec.709 (sRGB)', 'Raw'], workingSpace: 'ACEScct' } });
  const data = shotData();
  data.ocio = { scene_linear: ['Linear Rec.709 (sRGB)', 'Utility - Linear - sRGB'], raw: ['Raw'] };
  const comp = build(ae, data, base());
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  const p = ae.app.project;
  assert.equal(p.colorManagementSystem, 1);
  assert.equal(p.ocioConfigurationFile, config, 'the config is kept');
  assert.equal(p.workingSpace, 'ACEScct', 'the working space is kept (no ICC profile set)');
  assert.equal(p.bitsPerChannel, 32);
  for (const item of footageItems(ae)) {
    const colour = item.name === 's beauty' ? 'Linear Rec.709 (sRGB)' : 'Raw';
    assert.equal(item.comment, `dreamrooms: interpret as OCIO '${colour}'`, item.name);
  }
  const text = notes(ae).join('\n');
  assert.match(text, /No script can set a footage item's OCIO colour space/);
  assert.match(text, /Interpret Footage/);
  // the same build on an Adobe-managed 25.0 project sets the ICC working space as before
  const adobe = aeWith({ version: '25.0x1' });
  assert.ok(build(adobe, shotData(), base()));
  assert.equal(adobe.app.project.workingSpace, 'sRGB IEC61966-2.1');
});

// ---- defect 4: reruns ---------------------------------------------------------------------------------------
function growFolder(dir, frames) {
  for (const s of Object.values(SEQUENCES)) {
    const [d, n] = [path.join(dir, ...s.path.slice(0, -1)), s.path[s.path.length - 1]];
    for (let f = 4; f <= frames; f++) fs.copyFileSync(path.join(d, n), path.join(d, n.replace('0001', String(f).padStart(4, '0'))));
  }
}

test('defect 4: a rerun reloads reused footage, so a longer re-export imports without a stale frame count', () => {
  const dir = folder();
  const ae = aeWith();
  assert.ok(build(ae, shotData(), dir));
  growFolder(dir, 5);
  const data = shotData();
  data.comp.frame_count = 5;
  for (const f of data.footage) f.frame_count = 5;
  const comp = build(ae, data, dir);
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  assert.ok(ae.app.log.some((e) => e[0] === 'reload'), 'FileSource.reload() called');
  for (const item of footageItems(ae)) assert.equal(Math.round(item.duration * 24), 5, item.name);
});

test('defect 4: a failed frame-count check leaves a reused item\'s interpretation as it was', () => {
  const dir = folder();
  const ae = aeWith();
  assert.ok(build(ae, shotData(), dir));
  const before = footageItems(ae).map((i) => [i.mainSource.conformFrameRate, i.pixelAspect, i.mainSource.alphaMode]);
  growFolder(dir, 4); // a frame beyond the shot's 3 appeared: the reloaded item has 4
  const data = shotData('s', 2.0);
  data.comp.fps = 30;
  for (const f of data.footage) f.alpha = 'ignore';
  assert.equal(build(ae, data, dir, { linear32: false }), null);
  assert.match(ae.app.alerts[0].message, /has 4 frames in its folder/);
  assert.deepEqual(footageItems(ae).map((i) => [i.mainSource.conformFrameRate, i.pixelAspect, i.mainSource.alphaMode]), before);
});

test('defect 4: --update rebuilds the newest comp in place (same item, new layers, new length); the default adds a version', () => {
  const dir = folder();
  const ae = aeWith();
  const first = build(ae, shotData(), dir);
  const outer = ae.app.project.items.addComp('edit', 16, 8, 1, 1, 24);
  outer.layers.add(first);
  const oldLayers = first.layers._list.slice();
  growFolder(dir, 5);
  const data = shotData();
  data.comp.frame_count = 5;
  for (const f of data.footage) f.frame_count = 5;
  const again = build(ae, data, dir, { update: true });
  assert.ok(again, JSON.stringify(ae.app.alerts));
  assert.equal(again, first, 'the same comp item');
  assert.equal(mainComps(ae).length, 1, 'no new version');
  assert.ok(Math.abs(again.duration - 5 / 24) < 1e-9);
  assert.ok(oldLayers.every((l) => !again.layers._list.includes(l)), 'the old layers are gone');
  assert.equal(again.layers._list.filter((l) => l.name === 'dreamrooms controls').length, 1);
  assert.equal(outer.layers[1].source, again, 'the edit still nests it');
  assert.ok(build(ae, data, dir), 'without update: a new version');
  assert.deepEqual(mainComps(ae).map((c) => c.name).sort(), ['s', 's v2']);
});

test('defect 4: a failed update leaves the comp with its old layers and length', () => {
  const ae = aeWith();
  const first = build(ae, shotData(), base());
  const oldLayers = first.layers._list.slice();
  const data = shotData();
  data.depth_blur.focus = { times: [0], values: [2] }; // out of range: the build fails late
  assert.equal(build(ae, data, base(), { update: true }), null);
  assert.deepEqual(first.layers._list, oldLayers);
  assert.ok(Math.abs(first.duration - FRAMES / 24) < 1e-9);
});

// ---- defect 5: dust adds ------------------------------------------------------------------------------------
test('defect 5: the dust layer is added with Add (Screen darkens above 1.0 in linear 32 bpc)', () => {
  const ae = aeWith();
  const comp = build(ae, shotData(), base());
  assert.equal(layer(comp, 'Dust').blendingMode, BlendingMode.ADD);
  assert.equal(BlendingMode.ADD, 5220, 'the typings\' value');
});

// ---- defect 8: every frame file; displayStartFrame ---------------------------------------------------------
test('defect 8: a gap in the middle of a sequence fails before anything is built (AE would fill it with placeholders)', () => {
  const dir = folder();
  fs.rmSync(path.join(dir, 'map', 's_map.0002.exr'));
  const ae = aeWith();
  assert.equal(build(ae, shotData(), dir), null);
  assert.equal(ae.app.project._items.length, 0);
  assert.match(ae.app.alerts[0].message, /s_map\.0002\.exr \(sequence 's disparity map' is incomplete\)/);
});

test('defect 8: the comp starts at the shot\'s first frame with displayStartFrame on 17.1+, displayStartTime on 17.0', () => {
  const a = aeWith({ version: '24.0x57' });
  const c = build(a, shotData(), base());
  assert.equal(c.displayStartFrame, 1001);
  assert.ok(a.app.log.some((e) => e[0] === 'displayStartFrame' && e[1] === c.name && e[2] === 1001), 'set by displayStartFrame');
  const b = aeWith({ version: '17.0x25' });
  const d = build(b, shotData(), base());
  assert.equal(d.displayStartFrame, undefined);
  assert.ok(!b.app.log.some((e) => e[0] === 'displayStartFrame'));
  assert.ok(Math.abs(d.displayStartTime * 24 - 1001) < 1e-9);
});

// ---- defect 10: the reveal matte ------------------------------------------------------------------------------
test('defect 10: the reveal matte is the track matte of a clean-up adjustment layer above the beauty', () => {
  const ae = aeWith();
  const data = shotData();
  const r = SEQUENCES.reveal;
  data.footage.push({ id: 'reveal', name: r.name, role: 'reveal', path: r.path, last_path: r.last, alpha: 'straight', frame_count: FRAMES });
  const comp = build(ae, data, base());
  assert.ok(comp, JSON.stringify(ae.app.alerts));
  const clean = layer(comp, 'Clean-up [s reveal]');
  const matte = layer(comp, 's reveal');
  assert.ok(clean.adjustmentLayer && clean.enabled);
  assert.equal(clean.trackMatteLayer, matte);
  assert.equal(clean.trackMatteType, TrackMatteType.ALPHA);
  assert.equal(matte.enabled, false);
  assert.ok(clean.index < layer(comp, 's beauty').index, 'above the beauty');
  assert.equal(matte.source.mainSource.alphaMode, AlphaMode.STRAIGHT);
});

// ---- added: markers, render queue ---------------------------------------------------------------------------
test('shot metadata becomes a comp marker; an update replaces it', () => {
  const ae = aeWith();
  const data = shotData();
  data.markers = [{ time: 0, comment: 'frames 1001-1003 at 24 fps\nlens 50 mm\nf/2.8\nsource: depth-anything' }];
  const comp = build(ae, data, base());
  assert.equal(comp.markerProperty.numKeys, 1);
  assert.equal(comp.markerProperty.keyValue(1).comment, data.markers[0].comment);
  data.markers[0].comment = 'again';
  assert.ok(build(ae, data, base(), { update: true }));
  assert.equal(comp.markerProperty.numKeys, 1);
  assert.equal(comp.markerProperty.keyValue(1).comment, 'again');
});

test('render queue: the comp is queued into the render folder with the EXR template when AE has it, else a note', () => {
  const data = shotData();
  data.render = { path: ['render', 's_[####].exr'], template: 'dreamrooms EXR half' };
  const ae = aeWith({ omTemplates: ['Lossless', 'dreamrooms EXR half'] });
  const comp = build(ae, data, base(), { render_queue: true });
  const rq = ae.app.project.renderQueue;
  assert.equal(rq.numItems, 1);
  assert.equal(rq.item(1).comp, comp);
  const om = rq.item(1).outputModule(1);
  assert.equal(om.name, 'dreamrooms EXR half');
  assert.equal(om.file.fsName, path.join(base(), 'render', 's_[####].exr'));
  const bare = aeWith();
  build(bare, data, base(), { render_queue: true });
  assert.equal(bare.app.project.renderQueue.item(1).outputModule(1).name, 'Lossless');
  assert.match(notes(bare).join('\n'), /make an output-module template named 'dreamrooms EXR half'/);
  const off = aeWith();
  build(off, data, base());
  assert.equal(off.app.project.renderQueue.numItems, 0, 'off by default');
});
