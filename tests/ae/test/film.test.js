'use strict';
// `dreamrooms film` end to end without After Effects: the generated film.jsx (ES3, typed, one data literal)
// run in the recording AE model builds one comp per shot and a master comp that cuts them as edit.json says:
// each shot at its start, the dissolve as Opacity keys on the incoming shot, a marker per scene heading (with its
// notes), dialogue as text layers for exactly its frames.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const { parseES3, typecheck, ROOT } = require('../lib/checks');
const { createAE, CompItem, TextLayer } = require('../lib/aedom');

const PYTHON = process.env.DREAMROOMS_PYTHON
  || [path.join(ROOT, '.venv', 'bin', 'python'), path.join(ROOT, '.venv', 'Scripts', 'python.exe')].find((p) => fs.existsSync(p))
  || 'python3';

let made = null;
let tmpRoot = null;
function film() {
  if (made) return made;
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-film-'));
  const out = execFileSync(PYTHON, [path.join(__dirname, '..', 'make_film.py'), tmpRoot], { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  made = JSON.parse(out.trim().split('\n').pop());
  return made;
}
test.after(() => { if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true }); });

const near = (a, b) => Math.abs(a - b) < 1e-9;

test('film.jsx and its library parse as ES3 and type-check', () => {
  const f = film();
  parseES3(f.script);
  parseES3(path.join(f.folder, 'dreamrooms_film.jsxinc'));
  const libs = ['dreamrooms_dom.jsxinc', 'dreamrooms_project.jsxinc', 'dreamrooms_layers.jsxinc', 'dreamrooms.jsxinc', 'dreamrooms_film.jsxinc'];
  assert.equal(typecheck([...libs.map((n) => path.join(f.folder, n)), f.script]), '');
});

test('the master comp cuts the shot comps as edit.json says', () => {
  const f = film();
  const edit = f.edit;
  const ae = createAE();
  ae.runFile(f.script);
  assert.deepEqual(ae.app.alerts, []);
  const comps = ae.app.project._items.filter((i) => i instanceof CompItem);
  const master = comps.find((c) => c.name === 'FILM');
  assert.ok(master, 'the master comp is named after the film folder');
  assert.ok(near(master.duration, edit.frames / edit.fps));
  assert.equal(master.frameRate, edit.fps);
  assert.ok(master.openedInViewer);
  const shotLayers = master.layers._list.filter((l) => !(l instanceof TextLayer));
  // layers.add puts each new layer on top: the last shot is layer 1
  assert.equal(shotLayers.length, edit.shots.length);
  edit.shots.forEach((s, k) => {
    const layer = shotLayers[shotLayers.length - 1 - k];
    assert.ok(layer.source instanceof CompItem && comps.includes(layer.source), `shot ${k + 1} is a comp layer`);
    assert.ok(near(layer.startTime, s.start / edit.fps), `shot ${k + 1} starts at frame ${s.start}`);
    assert.ok(near(layer.outPoint, (s.start + s.frames) / edit.fps), `shot ${k + 1} ends at frame ${s.start + s.frames}`);
    const opacity = layer.property('ADBE Transform Group').property('ADBE Opacity');
    if (s.overlap_in > 0) {
      assert.equal(opacity.numKeys, 2);
      assert.ok(near(opacity.keyTime(1), s.start / edit.fps) && near(opacity.keyTime(2), (s.start + s.overlap_in) / edit.fps));
      assert.deepEqual([opacity.keyValue(1), opacity.keyValue(2)], [0, 100]);
    } else {
      assert.equal(opacity.numKeys, 0, `shot ${k + 1} is cut in`);
    }
  });
  assert.deepEqual(edit.shots.map((s) => s.overlap_in), [0, 2, 0], 'DISSOLVE TO: overlaps the sea by half a second');
});

test('scene headings and notes are markers, dialogue is text for its frames', () => {
  const f = film();
  const edit = f.edit;
  const ae = createAE();
  ae.runFile(f.script);
  const master = ae.app.project._items.find((i) => i instanceof CompItem && i.name === 'FILM');
  const markers = master.markerProperty;
  assert.equal(markers.numKeys, 3);
  edit.shots.forEach((s, k) => {
    assert.ok(near(markers.keyTime(k + 1), (s.start + s.handle_in) / edit.fps));
    assert.ok(markers.keyValue(k + 1).comment.startsWith(s.heading));
  });
  assert.equal(markers.keyValue(1).comment, 'INT. ROOM - NIGHT\n[[keep the lamp in frame]]');
  const texts = master.layers._list.filter((l) => l instanceof TextLayer).reverse();
  assert.deepEqual(texts.map((t) => t.sourceText.value.text), ['ANNA: Who left the light on?', 'BEN: Nobody. It was always on.']);
  texts.forEach((t, k) => {
    const sub = edit.subtitles[k];
    assert.ok(near(t.inPoint, sub.start / edit.fps) && near(t.outPoint, sub.end / edit.fps));
  });
});
