'use strict';
// The checks themselves: static checks (ES3, types) with negative controls, and the AE model
// enforcing what AE enforces, from its effect tables (real parameters, types, ranges, sources).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { parseES3, typecheck, LIBRARY, DOM, PROJECT, LAYERS, PANEL } = require('../lib/checks');
const { createAE, fileEncode, fileDecode, EFFECTS, TrackMatteType, PropertyValueType } = require('../lib/aedom');

// ---- static checks ---------------------------------------------------------------------------------
test('library and panel parse as ES3 and type-check against types-for-adobe 26.0 and 17.0 (nothing newer used unguarded)', () => {
  for (const f of [DOM, PROJECT, LAYERS, LIBRARY, PANEL]) parseES3(f);
  assert.equal(typecheck([DOM, PROJECT, LAYERS, LIBRARY, PANEL]), '');
  assert.equal(typecheck([DOM, PROJECT, LAYERS, LIBRARY, PANEL], '17.0'), '');
  for (const f of [DOM, PROJECT, LAYERS, LIBRARY, PANEL]) assert.match(fs.readFileSync(f, 'utf8'), /^\/\/@target aftereffects\n/);
});

test('only the panel is a .jsx among the installed files (AE lists every .jsx of ScriptUI Panels in the Window menu)', () => {
  const dir = path.dirname(PANEL);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.jsx')), [path.basename(PANEL)]);
  assert.match(fs.readFileSync(PANEL, 'utf8'), /^\/\/@include "dreamrooms\.jsxinc"$/m);
  assert.match(fs.readFileSync(LIBRARY, 'utf8'), /^\/\/@include "dreamrooms_dom\.jsxinc"$/m);
});

test('the static checks catch what they are for (negative controls)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-neg-'));
  try {
    const bad = {
      'let.jsx': 'let x = 1;\n',
      'trailing.jsx': 'var o = {a: 1,};\n',
      'getter.jsx': 'var o = {get a() { return 1; }};\n',
      'reserved.jsx': 'var o = {}; o.class = 1;\n',
    };
    for (const [name, text] of Object.entries(bad)) {
      fs.writeFileSync(path.join(dir, name), text);
      assert.throws(() => parseES3(path.join(dir, name)), SyntaxError, name);
    }
    const typeBad = path.join(dir, 'types.jsx');
    fs.writeFileSync(typeBad, 'var c = app.project.items.addComp("x", 1);\nvar l = app.project.nope;\n');
    parseES3(typeBad);
    const diags = typecheck([typeBad]);
    assert.match(diags, /addComp|Expected 6 arguments/);
    assert.match(diags, /nope/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the model enforces what AE enforces -------------------------------------------------------------
test('model: setValue on a keyed property throws; layers.add needs an AVItem; lookups by matchName and display name', () => {
  const ae = createAE();
  const comp = ae.app.project.items.addComp('c', 100, 50, 1, 2, 25);
  const cam = comp.layers.addCamera('cam', [50, 25]);
  const zoom = cam.property('ADBE Camera Options Group').property('ADBE Camera Zoom');
  assert.equal(cam.property('Camera Options').property('Zoom'), zoom);
  assert.equal(cam.property('ADBE Nope'), null);
  zoom.setValue(100);
  zoom.setValuesAtTimes([0, 1], [100, 200]);
  assert.throws(() => zoom.setValue(5), /has keyframes/);
  assert.throws(() => zoom.setValuesAtTimes([0], [[1, 2]]), /expected a number/);
  assert.throws(() => cam.property('ADBE Transform Group').property('ADBE Position').setValue([1, 2]), /3 finite numbers/);
  assert.throws(() => comp.layers.add(ae.app.project.items.addFolder('f')), /AVItem/);
  assert.throws(() => comp.layers.add({}), /AVItem/);
  assert.throws(() => zoom.setSpatialTangentsAtKey(1, [0, 0, 0], [0, 0, 0]), /not spatial/);
  assert.throws(() => zoom.keyTime(3), /out of range/);
  assert.throws(() => ae.app.project.items.addComp('x', 2, 50, 1, 1, 25), /out of range/);
  const solid = comp.layers.addSolid([0, 0, 0], 's', 100, 50, 1);
  const fx = solid.property('ADBE Effect Parade');
  assert.throws(() => fx.addProperty('ADBE No Such Effect'), /not a valid property/);
  const blur = fx.addProperty('ADBE Camera Lens Blur');
  assert.equal(blur.property('ADBE Camera Lens Blur-0014'), null, 'an unconfirmed matchName is not a way in');
  assert.ok(blur.property('Invert Blur Map'));
  assert.equal(blur.property('ADBE Camera Lens Blur-0013'), blur.property('Blur Focal Distance'), '-0013 confirmed by aep_parser');
  assert.throws(() => blur.property('ADBE Camera Lens Blur-0010').setValue(7), /layer index/);
  assert.throws(() => blur.property('ADBE Camera Lens Blur-0010').setValuesAtTimes([0], [1]), /cannot vary/);
  assert.throws(() => blur.property('ADBE Camera Lens Blur-0001').setValue(501), /out of range/);
});

test('model: File treats %XX as an escape, as ExtendScript does; File.encode round-trips any name', () => {
  const ae = createAE();
  assert.equal(ae.File('/tmp/a%41b').fsName, '/tmp/aAb');
  const name = 'q"u\'o\\te\n*/ </script> é漢 \u2028 %41';
  assert.equal(fileDecode(fileEncode(name)), name);
  assert.equal(ae.File(`/tmp/${fileEncode(name)}`).fsName, `/tmp/${name}`);
});


test('model: every effect parameter has a type and, when numeric, a range or a menu; 16 bpc effects are marked', () => {
  for (const [match, def] of Object.entries(EFFECTS)) {
    assert.ok([8, 16, 32].includes(def.bpc), match);
    for (const [suffix, name, spec] of def.params) {
      assert.ok(/^-\d{4}$/.test(suffix) && name && spec.type, `${match}${suffix}`);
      if (spec.type === PropertyValueType.OneD && !['Evolution', 'Random Seed'].includes(name)) {
        assert.ok(spec.menu || (spec.min !== undefined && spec.max !== undefined), `${match}${suffix} ${name} has no range`);
      }
    }
  }
  assert.equal(EFFECTS['VISINF Grain Implant'].bpc, 16);
  const src = fs.readFileSync(require.resolve('../lib/effects'), 'utf8');
  const effectLines = src.split('\n').filter((l) => /^\s+'(ADBE|VISINF) [^']*': \{ displayName/.test(l));
  assert.equal(effectLines.length, Object.keys(EFFECTS).length, 'every effect of the table is checked');
  for (const line of effectLines) assert.match(line, /\/\/ \S/, `effect without a source: ${line}`);
});

test('model: out-of-range values, menus, hasMax/maxValue, expressions, colour settings, track mattes, pixel aspect', () => {
  const ae = createAE();
  const comp = ae.app.project.items.addComp('c', 100, 50, 1, 2, 25);
  const solid = comp.layers.addSolid([0, 0, 0], 's', 100, 50, 1);
  const fx = solid.property('ADBE Effect Parade');
  const disp = fx.addProperty('ADBE Displacement Map');
  assert.throws(() => disp.property('ADBE Displacement Map-0002').setValue(12), /not a choice/);
  assert.throws(() => disp.property('ADBE Displacement Map-0003').setValue(1e5), /out of range/);
  assert.throws(() => disp.property('ADBE Displacement Map-0001').expression = 'x', /cannot have an expression/);
  const grain = fx.addProperty('VISINF Grain Implant');
  assert.equal(grain.property('VISINF Grain Implant-0021').value, 1, 'Add Grain starts in Preview');
  assert.throws(() => grain.property('VISINF Grain Implant-0021').setValue(4), /not a choice/);
  const blur = fx.addProperty('ADBE Camera Lens Blur');
  const focal = blur.property('Blur Focal Distance');
  assert.equal(focal.hasMax, true);
  assert.equal(focal.maxValue, 1);
  assert.throws(() => focal.setValue(236), /out of range/);
  const ctl = fx.addProperty('ADBE Slider Control');
  ctl.property('ADBE Slider Control-0001').expression = 'time';
  assert.equal(ctl.property('ADBE Slider Control-0001').expressionEnabled, true);
  const p = ae.app.project;
  assert.equal(p.workingSpace, 'None');
  assert.throws(() => { p.workingSpace = 'sRGB linear (made up)'; }, /not a color profile/);
  assert.throws(() => { p.bitsPerChannel = 24; }, /not 8, 16 or 32/);
  const old = createAE({ version: '15.1x20' });
  assert.equal(old.app.project.workingSpace, undefined);
  assert.equal(old.app.project.listColorProfiles, undefined);
  const a = comp.layers.addSolid([1, 1, 1], 'target', 100, 50, 1);
  const m = comp.layers.addSolid([1, 1, 1], 'matte', 100, 50, 1);
  assert.throws(() => { comp.layers._list[0].trackMatteType = TrackMatteType.ALPHA; }, /directly above/);
  a.setTrackMatte(m, TrackMatteType.LUMA);
  assert.equal(a.trackMatteLayer, m);
  const c22 = createAE({ version: '22.6x1' }).app.project.items.addComp('c', 100, 50, 1, 2, 25);
  assert.equal(c22.layers.addSolid([1, 1, 1], 's', 100, 50, 1).setTrackMatte, undefined, 'setTrackMatte is 23.0+');
  const item = p.items.addComp('x', 10, 10, 1, 1, 25);
  assert.ok(item);
  const footage = comp.layers.addNull();
  assert.ok(footage.nullLayer);
  assert.throws(() => { footage.source.pixelAspect = 0; }, /out of range/);
});
