'use strict';
// The Dreamrooms panel in the AE model: it reads comp.json as data with its own JSON reader, never
// runs a script from the shot folder, starts from the shot's options, and resizes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { PANEL } = require('../lib/checks');
const { createAE, CompItem, CameraLayer } = require('../lib/aedom');
const { makeFolder, shotData } = require('../lib/fixture');

let dir = null;
test.before(() => {
  dir = makeFolder();
  const ae = path.join(dir, 'ae');
  fs.mkdirSync(ae);
  for (const n of fs.readdirSync(dir)) if (n !== 'ae') fs.renameSync(path.join(dir, n), path.join(ae, n));
  const data = shotData();
  data.options.camera = false;
  data.options.grain = true;
  fs.writeFileSync(path.join(ae, 'comp.json'), JSON.stringify(data, null, 1));
  // a hostile shot folder: scripts that would run if the panel evaluated anything from it
  const evil = '$.global.pwned = true; app.project.items.addFolder("pwned");\n';
  fs.writeFileSync(path.join(ae, 'shot.jsx'), evil);
  fs.writeFileSync(path.join(ae, 'dreamrooms.jsxinc'), evil);
  fs.writeFileSync(path.join(ae, 'dreamrooms.jsx'), evil);
  fs.writeFileSync(path.join(ae, 'dreamrooms_dom.jsxinc'), evil);
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function panelIn(ae) {
  ae.runFile(PANEL); // floating palette when not docked
  const panel = ae.evalSource('dreamroomsBuildPanel(new Panel())');
  assert.equal(panel.type, 'panel');
  return {
    panel,
    button: (t) => panel.find((c) => c.type === 'button' && c.text === t),
    box: (t) => panel.find((c) => c.type === 'checkbox' && c.text.indexOf(t) === 0),
  };
}
const comps = (ae) => ae.app.project._items.filter((i) => i instanceof CompItem);

test('defect 10: the panel reads comp.json as data and builds with its own library; nothing in the shot folder runs', () => {
  const ae = createAE();
  const { button } = panelIn(ae);
  button('Import').onClick();
  assert.match(ae.app.alerts.pop().message, /Choose a shot/);
  ae.record.dialogs.selectFolder.push(ae.Folder(dir));
  button('Shot folder...').onClick();
  button('Import').onClick();
  assert.deepEqual(ae.app.alerts, []);
  assert.deepEqual(ae.record.evalFiles, [], 'no $.evalFile');
  assert.equal(ae.context.pwned, undefined);
  assert.ok(!ae.app.project._items.some((i) => i.name === 'pwned'));
  assert.equal(comps(ae).length, 2); // the comp and its displaced-map precomp
});

test('defect 9: the panel starts from the shot\'s own options and passes the ticked ones', () => {
  const ae = createAE();
  const { button, box } = panelIn(ae);
  ae.record.dialogs.openFile.push(ae.File(path.join(dir, 'ae', 'comp.json')));
  button('comp.json...').onClick();
  assert.equal(box('3D camera').value, false, 'the shot was exported with --no-camera');
  assert.equal(box('Grain').value, true, 'the shot was exported with --grain');
  assert.equal(box('Linear 32 bpc').value, true);
  box('Dust').value = false;
  box('Grain').value = false;
  button('Import').onClick();
  assert.deepEqual(ae.app.alerts, []);
  const comp = comps(ae).find((c) => c.layers._list.some((l) => l.name === 'dreamrooms controls'));
  assert.ok(!comp.layers._list.some((l) => l instanceof CameraLayer), 'camera off as exported');
  assert.ok(!comp.layers._list.some((l) => l.name === 'Grain' || l.name === 'Dust'), 'unticked');
});

test('issue 26 defect 4: the panel\'s update checkbox rebuilds the comp in place; unticked, a second import is a new version', () => {
  const ae = createAE();
  const { button, box } = panelIn(ae);
  ae.record.dialogs.openFile.push(ae.File(path.join(dir, 'ae', 'comp.json')));
  button('comp.json...').onClick();
  assert.equal(box('Update the newest comp').value, false, 'default: a new version');
  button('Import').onClick();
  const main = () => comps(ae).filter((c) => c.layers._list.some((l) => l.name === 'dreamrooms controls'));
  const first = main()[0];
  box('Update the newest comp').value = true;
  button('Import').onClick();
  assert.deepEqual(ae.app.alerts, []);
  assert.deepEqual(main(), [first], 'the same comp, updated');
  box('Update the newest comp').value = false;
  button('Import').onClick();
  assert.equal(main().length, 2, 'unticked: a new version');
});

test('defect 9: the panel has a resize handler that lays it out again', () => {
  const ae = createAE();
  const { panel } = panelIn(ae);
  let resized = 0;
  panel.layout.resize = () => { resized++; };
  assert.equal(typeof panel.onResizing, 'function');
  panel.onResizing();
  panel.onResize();
  assert.equal(resized, 2);
});

test('the panel\'s JSON reader rejects what is not JSON (no eval), with one alert', () => {
  const ae = createAE();
  panelIn(ae);
  const parse = (t) => ae.evalSource(`dreamroomsParseJSON(${JSON.stringify(t)})`);
  assert.deepEqual(JSON.parse(JSON.stringify(parse('{"a": [1, -2.5e3, "\\u00e9\\n", true, null], "b": {}}'))), { a: [1, -2500, 'é\n', true, null], b: {} });
  for (const bad of ['{"a": alert(1)}', '{"a": 1,}', '[1] x', '"\\x41"', '{a: 1}', '(function(){})()']) {
    assert.throws(() => parse(bad), /not valid JSON/, bad);
  }
  const broken = path.join(dir, 'broken.json');
  fs.writeFileSync(broken, '{"format": "dreamrooms-ae-shot", ');
  ae.record.dialogs.openFile.push(ae.File(broken));
  panelIn(ae).button('comp.json...').onClick();
  assert.equal(ae.app.alerts.length, 1);
  assert.match(ae.app.alerts[0].message, /not valid JSON/);
});
