'use strict';
// A recording model of the After Effects scripting DOM, run in a node `vm` context.
//
// It follows the types-for-adobe AfterEffects 26.0 typings (class and member names) and enforces
// the documented behaviours a script can get wrong, so that tests fail where AE would:
//  - Property.setValue on a property with keyframes throws (use setValueAtTime/setValuesAtTimes);
//  - values must have the property's dimension and lie in its range; layer parameters take a
//    layer index of the containing comp and cannot be keyframed;
//  - LayerCollection.add needs an AVItem (footage or comp) of this project;
//  - PropertyGroup.property(name) finds a child by matchName or display name, else null;
//    addProperty throws for an effect that is not installed;
//  - spatial tangent calls on a non-spatial property throw; key indices are 1-based and checked;
//  - addComp checks its ranges; importFile needs an existing file and an ImportOptions;
//  - File() treats %XX in a path as an escape, as ExtendScript does;
//  - effect tables carry the real parameters, types and ranges with their sources (effects.js);
//    a matchName no source confirms cannot be looked up (only the display name finds it);
//  - expressions only on properties that take them; layer parameters take comp layer indices;
//  - project colour: workingSpace must be a listed profile, workingSpace/linearizeWorkingSpace/
//    listColorProfiles exist from AE 16.0; setTrackMatte from 23.0, trackMatteType needs the matte
//    directly above; footage pixelAspect range 0.01..100 (read from the EXR header on import);
//  - addComp frameRate 1..99 and conformFrameRate 0..99 (docsforadobe itemcollection.md, footagesource.md);
//  - an EXR with A imports premultiplied (fnordware/openexrAE src/OpenEXR.cpp: "says in the EXR spec to use
//    premultiplied", alpha_type = AEIO_Alpha_PREMUL for 4 planes);
//  - a sequence import spans the first..last numbered file of the folder, numbering gaps become missing
//    frames (placeholders), and FileSource.reload() (filesource.md) rescans the folder; without it a reused
//    item keeps the frames it had;
//  - Orientation is spatial (ThreeD_SPATIAL): forticheprod/aep_parser overrides.py _ISSPATIAL_OVERRIDES
//    "ADBE Orientation": True and tests/test_models_property.py (is_spatial is True, 3 dimensions);
//  - CompItem.displayStartFrame exists from 17.1 (compitem.md); CompItem.markerProperty from 14.0 with
//    MarkerValue (compitem.md, markervalue.md); renderQueue.items.add(comp), OutputModule.file, .templates,
//    .applyTemplate (rqitemcollection.md, outputmodule.md: the format itself is not settable);
//  - colour management (AE 24.0+, undocumented; forticheprod/aep_parser scripts/jsx/generate_model_samples.jsx):
//    Project.colorManagementSystem 0 Adobe / 1 OCIO, Project.ocioConfigurationFile, workingSpace takes the
//    config's colour space names in OCIO mode, and 16 bpc is not supported there;
//  - `locale`: effect and parameter display names are localised (stand-in strings, not Adobe's translations:
//    they prove that nothing is found by its English display name).
// Everything a script does is kept in the object graph (and in `log`), for tests to inspect.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { readExrHeader } = require('./exrheader');

const { AlphaMode, AutoOrientType, ImportAsType, KeyframeInterpolationType, PropertyValueType, PropertyType, BlendingMode,
  TrackMatteType, COLOR_PROFILES, versionNumber } = require('./enums');
const { EFFECTS } = require('./effects');
const ONE = PropertyValueType.OneD;

class AEError extends Error {}
const aeFail = (msg) => { throw new AEError(`After Effects error: ${msg}`); };

// ---- File / Folder ---------------------------------------------------------------------------------
const ENCODE_KEEP = /[A-Za-z0-9\-_.]/;
function fileEncode(name) {
  let out = '';
  for (const ch of String(name)) {
    if (ENCODE_KEEP.test(ch) || ch === '/') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
function fileDecode(uri) {
  // decode every valid %XX run as UTF-8 (invalid runs are kept as written)
  return String(uri).replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
    try { return decodeURIComponent(run); } catch { return run; }
  });
}

function makeFileClasses(record) {
  class FsObject {
    constructor(p) {
      let s = p === undefined ? '' : String(p);
      s = fileDecode(s);
      if (s.startsWith('~')) s = path.join(process.env.HOME || '/', s.slice(1));
      this._path = path.resolve(s || '.');
    }
    get fsName() { return this._path; }
    get fullName() { return this._path; }
    get absoluteURI() { return this._path.split('/').map(fileEncode).join('/'); }
    get name() { return fileEncode(path.basename(this._path)); }
    get displayName() { return path.basename(this._path); }
    get exists() { return fs.existsSync(this._path); }
    get parent() { const f = new Folder(); f._path = path.dirname(this._path); return f; }
    toString() { return this.absoluteURI; }
  }
  function File(p) {
    if (!(this instanceof File)) return new File(p);
    const o = new FsObject(p);
    this._path = o._path;
  }
  Object.setPrototypeOf(File.prototype, FsObject.prototype);
  File.encode = fileEncode;
  File.decode = fileDecode;
  File.fs = 'Unix';
  File.openDialog = () => record.dialogs.openFile.shift() || null;
  File.prototype.openDlg = File.openDialog;
  File.prototype.open = function (mode) {
    if (mode !== 'r' || !this.exists) return false;
    this._text = fs.readFileSync(this._path, 'utf8');
    this._pos = 0;
    return true;
  };
  File.prototype.read = function () {
    if (this._text === undefined) aeFail('File.read on a file that is not open');
    const out = this._text.slice(this._pos); this._pos = this._text.length; return out;
  };
  File.prototype.close = function () { this._text = undefined; return true; };
  function Folder(p) {
    if (!(this instanceof Folder)) return new Folder(p);
    const o = new FsObject(p);
    this._path = o._path;
  }
  Object.setPrototypeOf(Folder.prototype, FsObject.prototype);
  Folder.encode = fileEncode;
  Folder.decode = fileDecode;
  Folder.selectDialog = () => record.dialogs.selectFolder.shift() || null;
  Folder.prototype.selectDlg = Folder.selectDialog;
  Folder.prototype.getFiles = function () {
    return fs.readdirSync(this._path).map((n) => {
      const full = path.join(this._path, n);
      const o = fs.statSync(full).isDirectory() ? new Folder() : new File();
      o._path = full; // no %XX decoding of names read from disk
      return o;
    });
  };
  // FsObject itself must not be visible; constructors are wrapped to accept `new` and calls.
  return { File, Folder };
}

// ---- properties ------------------------------------------------------------------------------------
let nextId = 1;

class PropertyBase {
  constructor(matchName, name, parent) {
    this.matchName = matchName;
    this._name = name;
    this.parentProperty = parent || null;
    this.enabled = true;
    this.selected = false;
  }
  get name() { return this._name; }
  set name(v) { this._name = String(v); }
  get propertyIndex() {
    const p = this.parentProperty;
    return p ? p._children.indexOf(this) + 1 : 0;
  }
  get propertyDepth() { return this.parentProperty ? this.parentProperty.propertyDepth + 1 : 0; }
  propertyGroup(countUp) {
    let g = this;
    for (let i = 0; i < (countUp || 1); i++) g = g.parentProperty;
    return g;
  }
  get layer() {
    let g = this;
    while (g && !(g instanceof Layer)) g = g.parentProperty;
    return g;
  }
}

class Property extends PropertyBase {
  // spec: {type, value, min, max, spatial, varying=true, menu: n (dropdown 1..n)}
  constructor(matchName, name, parent, spec) {
    super(matchName, name, parent);
    this._spec = spec;
    this._value = spec.value;
    this._keys = []; // {time, value, inInterp, outInterp, inTangent, outTangent, autoBezier, continuous}
    this._expression = '';
    this.expressionEnabled = false;
  }
  get canSetExpression() { return this._spec.type !== PropertyValueType.NO_VALUE && this._spec.type !== PropertyValueType.LAYER_INDEX; }
  get expression() { return this._expression; }
  set expression(text) {
    if (typeof text !== 'string') aeFail(`expression of ${this._where()} must be a string`);
    if (!this.canSetExpression) aeFail(`${this._where()} cannot have an expression`);
    this._expression = text;
    this.expressionEnabled = text !== '';
  }
  get propertyType() { return PropertyType.PROPERTY; }
  get propertyValueType() { return this._spec.type; }
  get isSpatial() { return Boolean(this._spec.spatial); }
  get canVaryOverTime() { return this._spec.varying !== false && this._spec.type !== PropertyValueType.NO_VALUE; }
  get hasMin() { return this._spec.min !== undefined; }
  get hasMax() { return this._spec.max !== undefined; }
  get minValue() { return this._spec.min; }
  get maxValue() { return this._spec.max; }
  get numKeys() { return this._keys.length; }
  get isTimeVarying() { return this._keys.length > 0; }
  get value() {
    if (this._spec.type === PropertyValueType.LAYER_INDEX) return this._layerRef ? this._layerRef.index : 0;
    return this._keys.length ? this._keys[0].value : this._value;
  }
  _where() { return `property "${this.name}" (${this.matchName})`; }
  _check(v) {
    const t = this._spec.type;
    const dims = { [PropertyValueType.OneD]: 1, [PropertyValueType.TwoD]: 2, [PropertyValueType.TwoD_SPATIAL]: 2,
      [PropertyValueType.ThreeD]: 3, [PropertyValueType.ThreeD_SPATIAL]: 3, [PropertyValueType.COLOR]: 4 }[t];
    if (t === PropertyValueType.NO_VALUE || t === PropertyValueType.CUSTOM_VALUE) aeFail(`${this._where()} has no settable value`);
    if (t === PropertyValueType.MARKER) {
      if (!(v instanceof MarkerValue)) aeFail(`Unable to set value of ${this._where()}: expected a MarkerValue`);
      return v;
    }
    if (t === PropertyValueType.MASK_INDEX) {
      if (!Number.isInteger(v) || v < 0) aeFail(`${v} is not a mask index for ${this._where()}`);
      return v;
    }
    if (t === PropertyValueType.LAYER_INDEX) {
      const comp = this.layer && this.layer.containingComp;
      if (!Number.isInteger(v) || v < 0 || v > comp.numLayers) {
        aeFail(`Unable to call "setValue" because of parameter 1. ${v} is not a layer index of this comp (0..${comp.numLayers}) for ${this._where()}`);
      }
      return v;
    }
    if (dims === 1) {
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v !== 'number' || !Number.isFinite(v)) aeFail(`Unable to set value of ${this._where()}: expected a number, got ${JSON.stringify(v)}`);
      const lo = this._spec.min; const hi = this._spec.max;
      if ((lo !== undefined && v < lo) || (hi !== undefined && v > hi)) {
        aeFail(`Value ${v} out of range ${lo} to ${hi} for ${this._where()}`);
      }
      if (this._spec.menu && (!Number.isInteger(v) || v < 1 || v > this._spec.menu)) {
        aeFail(`Value ${v} is not a choice (1..${this._spec.menu}) of ${this._where()}`);
      }
      return v;
    }
    if (!Array.isArray(v) && !(v && typeof v === 'object' && typeof v.length === 'number')) {
      aeFail(`Unable to set value of ${this._where()}: expected an array of ${dims} numbers`);
    }
    const arr = Array.from(v);
    if (arr.length !== dims || arr.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      aeFail(`Unable to set value of ${this._where()}: expected ${dims} finite numbers, got ${JSON.stringify(arr)}`);
    }
    return arr;
  }
  setValue(v) {
    if (this._keys.length) {
      aeFail(`Unable to call "setValue" because ${this._where()} has keyframes; use setValueAtTime or setValueAtKey`);
    }
    const checked = this._check(v);
    if (this._spec.type === PropertyValueType.LAYER_INDEX) {
      const comp = this.layer.containingComp;
      this._layerRef = checked === 0 ? null : comp.layers[checked];
      return;
    }
    this._value = checked;
    this._set = true;
  }
  setValueAtTime(t, v) { this.setValuesAtTimes([t], [v]); }
  setValuesAtTimes(times, values) {
    if (!this.canVaryOverTime) aeFail(`Unable to call "setValuesAtTimes": ${this._where()} cannot vary over time`);
    const ts = Array.from(times || []); const vs = Array.from(values || []);
    if (ts.length !== vs.length) aeFail(`Unable to call "setValuesAtTimes": ${ts.length} times but ${vs.length} values`);
    ts.forEach((t, i) => {
      if (typeof t !== 'number' || !Number.isFinite(t)) aeFail(`Unable to call "setValuesAtTimes": time ${t} is not a number`);
      const v = this._check(vs[i]);
      const existing = this._keys.find((k) => Math.abs(k.time - t) < 1e-9);
      if (existing) existing.value = v;
      else this._keys.push({ time: t, value: v, inInterp: KeyframeInterpolationType.LINEAR, outInterp: KeyframeInterpolationType.LINEAR,
        autoBezier: Boolean(this._spec.spatial), continuous: Boolean(this._spec.spatial), inTangent: null, outTangent: null });
    });
    this._keys.sort((a, b) => a.time - b.time);
  }
  _key(k) {
    if (!Number.isInteger(k) || k < 1 || k > this._keys.length) aeFail(`key index ${k} out of range 1..${this._keys.length} for ${this._where()}`);
    return this._keys[k - 1];
  }
  keyTime(k) { return this._key(k).time; }
  keyValue(k) { const v = this._key(k).value; return Array.isArray(v) ? v.slice() : v; }
  removeKey(k) { this._key(k); this._keys.splice(k - 1, 1); }
  setInterpolationTypeAtKey(k, inType, outType) {
    const key = this._key(k);
    const ok = Object.values(KeyframeInterpolationType);
    if (!ok.includes(inType) || (outType !== undefined && !ok.includes(outType))) aeFail('invalid KeyframeInterpolationType');
    key.inInterp = inType; key.outInterp = outType === undefined ? inType : outType;
  }
  keyInInterpolationType(k) { return this._key(k).inInterp; }
  keyOutInterpolationType(k) { return this._key(k).outInterp; }
  _spatialOnly(fn) { if (!this.isSpatial) aeFail(`Unable to call "${fn}" because ${this._where()} is not spatial`); }
  setSpatialTangentsAtKey(k, inT, outT) {
    this._spatialOnly('setSpatialTangentsAtKey');
    const key = this._key(k);
    key.inTangent = this._check(inT); key.outTangent = this._check(outT);
  }
  setSpatialAutoBezierAtKey(k, v) { this._spatialOnly('setSpatialAutoBezierAtKey'); this._key(k).autoBezier = Boolean(v); }
  setSpatialContinuousAtKey(k, v) { this._spatialOnly('setSpatialContinuousAtKey'); this._key(k).continuous = Boolean(v); }
  keySpatialAutoBezier(k) { this._spatialOnly('keySpatialAutoBezier'); return this._key(k).autoBezier; }
  valueAtTime(t) {
    if (!this._keys.length) return this.value;
    const ks = this._keys;
    if (t <= ks[0].time) return ks[0].value;
    if (t >= ks[ks.length - 1].time) return ks[ks.length - 1].value;
    for (let i = 0; i < ks.length - 1; i++) {
      const a = ks[i]; const b = ks[i + 1];
      if (t >= a.time && t <= b.time) {
        if (a.outInterp === KeyframeInterpolationType.HOLD) return a.value;
        const u = (t - a.time) / (b.time - a.time);
        return Array.isArray(a.value) ? a.value.map((x, j) => x + (b.value[j] - x) * u) : a.value + (b.value - a.value) * u;
      }
    }
    return ks[ks.length - 1].value;
  }
  property() { return null; }
  remove() { const p = this.parentProperty; p._children.splice(p._children.indexOf(this), 1); }
}

class PropertyGroup extends PropertyBase {
  constructor(matchName, name, parent, kind) {
    super(matchName, name, parent);
    this._children = [];
    this._kind = kind || PropertyType.NAMED_GROUP;
  }
  get propertyType() { return this._kind; }
  get numProperties() { return this._children.length; }
  get isEffect() { return Boolean(this._isEffect); }
  property(key) {
    if (typeof key === 'number') {
      if (!Number.isInteger(key) || key < 1 || key > this._children.length) return null;
      return this._children[key - 1];
    }
    key = String(key);
    const byMatch = this._children.find((c) => c.matchName === key);
    if (byMatch && !(byMatch._spec && byMatch._spec.unconfirmed)) return byMatch;
    return this._children.find((c) => c.name === key) || null;
  }
  _addProp(matchName, name, spec) { const p = new Property(matchName, name, this, spec); this._children.push(p); return p; }
  _addGroup(matchName, name, kind) { const g = new PropertyGroup(matchName, name, this, kind); this._children.push(g); return g; }
  canAddProperty(name) { return Boolean(this._adder && this._adder(String(name), true)); }
  addProperty(name) {
    if (!this._adder) aeFail(`Unable to call "addProperty": cannot add properties to "${this.name}"`);
    const g = this._adder(String(name), false);
    if (!g) aeFail(`Unable to call "addProperty" because of parameter 1. "${name}" is not a valid property name for "${this.name}"`);
    return g;
  }
}

// ---- items -------------------------------------------------------------------------------------------
class Item {
  constructor(project, name) {
    this._project = project;
    this.id = nextId++;
    this._name = String(name);
    this.comment = '';
    this.label = 0;
    this.selected = false;
    this._parentFolder = project._root || null;
  }
  get name() { return this._name; }
  set name(v) { this._name = String(v); }
  get parentFolder() { return this._parentFolder; }
  set parentFolder(f) {
    if (!(f instanceof FolderItem) || f._removed) aeFail('parentFolder must be a FolderItem of this project');
    this._parentFolder = f;
  }
  get typeName() { return this._typeName; }
  remove() {
    if (this._removed) aeFail(`Object is invalid (item "${this.name}" was removed)`);
    this._project._removeItem(this);
  }
}
class FolderItem extends Item {
  constructor(project, name) { super(project, name); this._typeName = 'Folder'; }
  get items() { return this._project._items.filter((i) => i._parentFolder === this); }
  get numItems() { return this.items.length; }
  item(i) { return this.items[i - 1]; }
}
class AVItem extends Item {
  get frameDuration() { return 1 / this.frameRate; }
}
class FootageSource {
  constructor() { this.hasAlpha = false; this._alphaMode = AlphaMode.IGNORE; this._conform = 0; this.nativeFrameRate = 30; this.isStill = false; this.premulColor = [0, 0, 0]; this.invertAlpha = false; }
  get alphaMode() { return this._alphaMode; }
  set alphaMode(v) {
    if (!Object.values(AlphaMode).includes(v)) aeFail(`alphaMode: ${v} is not an AlphaMode`);
    this._alphaMode = v;
  }
  get conformFrameRate() { return this._conform; }
  set conformFrameRate(v) {
    if (typeof v !== 'number' || !(v >= 0) || v > 99) aeFail(`conformFrameRate: ${v} out of range 0 to 99`); // footagesource.md
    this._conform = v;
  }
  get displayFrameRate() { return this._conform || this.nativeFrameRate; }
  guessAlphaMode() {}
}
/** The frames of an image sequence as AE imports it: every number from the first file's to the highest
 * file of the same name pattern in its folder; a number without a file is a missing frame (null). */
function scanSequence(first) {
  const m = /^([\s\S]*?)(\d+)(\D*)$/.exec(path.basename(first));
  if (!m) return [first];
  const [, pre, digits, post] = m;
  const dir = path.dirname(first);
  const start = Number(digits);
  let last = start;
  for (const n of fs.readdirSync(dir)) {
    const k = /^([\s\S]*?)(\d+)(\D*)$/.exec(n);
    if (k && k[1] === pre && k[3] === post && k[2].length === digits.length && Number(k[2]) > last) last = Number(k[2]);
  }
  const frames = [];
  for (let n = start; n <= last; n++) {
    const f = path.join(dir, pre + String(n).padStart(digits.length, '0') + post);
    frames.push(fs.existsSync(f) ? f : null);
  }
  return frames;
}
class FileSource extends FootageSource {
  constructor(file, frames, sequence) { super(); this.file = file; this.frames = frames; this._sequence = sequence; this.missingFootagePath = ''; }
  reload() {
    if (this._sequence) this.frames = scanSequence(this.file.fsName);
    if (this._item) this._item._frames = this._sequence ? this.frames.length : undefined;
    this._item && this._item._project._app.log.push(['reload', this.file.fsName]);
  }
}
class SolidSource extends FootageSource {
  constructor(color) { super(); this.color = color; this.isStill = true; }
}
class FootageItem extends AVItem {
  constructor(project, name, source, w, h, pa, frames) {
    super(project, name);
    this._typeName = 'Footage';
    this.mainSource = source;
    this.width = w; this.height = h; this._pa = pa;
    this._frames = frames; // undefined for stills
  }
  get pixelAspect() { return this._pa; }
  set pixelAspect(v) { checkRange('pixelAspect', v, 0.01, 100); this._pa = v; }
  get file() { return this.mainSource instanceof FileSource ? this.mainSource.file : null; }
  get frameRate() { return this.mainSource.displayFrameRate; }
  get duration() { return this._frames === undefined ? 0 : this._frames / this.frameRate; }
  get footageMissing() { return false; }
}
class CompItem extends AVItem {
  constructor(project, name, w, h, pa, duration, fps) {
    super(project, name);
    this._typeName = 'Composition';
    this.width = w; this.height = h; this.pixelAspect = pa; this.duration = duration; this.frameRate = fps;
    this.layers = new LayerCollection(this);
    this.displayStartTime = 0;
    this.bgColor = [0, 0, 0];
    this.openedInViewer = false;
    this._markers = new Property('ADBE Marker', 'Marker', null, { type: PropertyValueType.MARKER, value: null });
  }
  // displayStartFrame: 17.1+ (compitem.md); undefined before, and setting it there does nothing
  get displayStartFrame() {
    if (versionNumber(this._project._app.version) < 17.1) return undefined;
    return Math.round(this.displayStartTime * this.frameRate);
  }
  set displayStartFrame(v) {
    if (versionNumber(this._project._app.version) < 17.1) return;
    if (!Number.isInteger(v)) aeFail(`displayStartFrame: ${v} is not an integer`);
    this._project._app.log.push(['displayStartFrame', this.name, v]); // which API set the start, for tests
    this.displayStartTime = v / this.frameRate;
  }
  // markerProperty: 14.0+ (compitem.md); setValueAtTime(t, MarkerValue) (markervalue.md)
  get markerProperty() { return versionNumber(this._project._app.version) >= 14 ? this._markers : undefined; }
  get numLayers() { return this.layers.length; }
  layer(i) { return typeof i === 'number' ? this.layers[i] : this.layers.byName(i); }
  openInViewer() { this.openedInViewer = true; return null; }
  get activeCamera() { return this.layers._list.find((l) => l instanceof CameraLayer && l.enabled) || null; }
}

// ---- layers -------------------------------------------------------------------------------------------
function addTransform(layer, kind, comp) {
  const tr = layer._addGroup('ADBE Transform Group', 'Transform');
  const c = [comp.width / 2, comp.height / 2, 0];
  const T3 = PropertyValueType.ThreeD_SPATIAL;
  if (kind === 'camera') {
    tr._addProp('ADBE Anchor Point', 'Point of Interest', { type: T3, value: c, spatial: true });
    tr._addProp('ADBE Position', 'Position', { type: T3, value: [c[0], c[1], -comp.width * 1.4], spatial: true });
  } else {
    tr._addProp('ADBE Anchor Point', 'Anchor Point', { type: T3, value: [layer.width / 2, layer.height / 2, 0], spatial: true });
    tr._addProp('ADBE Position', 'Position', { type: T3, value: c, spatial: true });
    tr._addProp('ADBE Scale', 'Scale', { type: PropertyValueType.ThreeD, value: [100, 100, 100] });
  }
  // spatial: aep_parser overrides.py _ISSPATIAL_OVERRIDES and tests/test_models_property.py (is_spatial True, 3 values)
  tr._addProp('ADBE Orientation', 'Orientation', { type: PropertyValueType.ThreeD_SPATIAL, value: [0, 0, 0], spatial: true });
  tr._addProp('ADBE Rotate X', 'X Rotation', { type: ONE, value: 0 });
  tr._addProp('ADBE Rotate Y', 'Y Rotation', { type: ONE, value: 0 });
  tr._addProp('ADBE Rotate Z', 'Z Rotation', { type: ONE, value: 0 });
  if (kind !== 'camera') tr._addProp('ADBE Opacity', 'Opacity', { type: ONE, value: 100, min: 0, max: 100 });
}

class Layer extends PropertyGroup {
  constructor(comp, name) {
    super('', name, null, PropertyType.INDEXED_GROUP);
    this.id = nextId++;
    this.containingComp = comp;
    this.enabled = true; this.solo = false; this.shy = false; this.locked = false;
    this.startTime = 0; this.inPoint = 0; this.outPoint = comp.duration;
    this.parent = null; this.comment = ''; this.label = 0;
    this._autoOrient = AutoOrientType.NO_AUTO_ORIENT;
  }
  get index() { return this.containingComp.layers._list.indexOf(this) + 1; }
  get autoOrient() { return this._autoOrient; }
  set autoOrient(v) {
    if (!Object.values(AutoOrientType).includes(v)) aeFail(`autoOrient: ${v} is not an AutoOrientType`);
    this._autoOrient = v;
  }
  remove() { const l = this.containingComp.layers._list; l.splice(l.indexOf(this), 1); }
}
class AVLayer extends Layer {
  constructor(comp, source, name, duration) {
    super(comp, name);
    this.matchName = 'ADBE AV Layer';
    this.source = source;
    this.width = source.width; this.height = source.height;
    this.adjustmentLayer = false; this.threeDLayer = false; this.motionBlur = false; this.guideLayer = false;
    this.nullLayer = false;
    this._matteType = TrackMatteType.NO_TRACK_MATTE; this._matteLayer = null;
    this._blendingMode = BlendingMode.NORMAL;
    this.outPoint = Math.min(comp.duration, duration !== undefined ? duration : (source.duration || comp.duration));
    this._addGroup('ADBE Marker', 'Marker');
    this._addGroup('ADBE Mask Parade', 'Masks', PropertyType.INDEXED_GROUP);
    const fx = this._addGroup('ADBE Effect Parade', 'Effects', PropertyType.INDEXED_GROUP);
    fx._adder = (name, dryRun) => {
      const app = comp._project._app;
      const match = EFFECTS[name] ? name : Object.keys(EFFECTS).find((k) => app.localise(EFFECTS[k].displayName) === name);
      const installed = match && comp._project._app._effects.some((e) => e.matchName === match);
      if (!installed) return null;
      if (dryRun) return true;
      const def = EFFECTS[match];
      const g = new PropertyGroup(match, app.localise(def.displayName), fx, PropertyType.INDEXED_GROUP);
      g._isEffect = true;
      for (const [suffix, pname, spec] of def.params) g._addProp(match + suffix, app.localise(pname), spec);
      fx._children.push(g);
      return g;
    };
    addTransform(this, 'av', comp);
  }
  get effect() { return this.property('ADBE Effect Parade'); }
  get transform() { return this.property('ADBE Transform Group'); }
  // Track mattes (avlayer.md): trackMatteType is the legacy API, the matte being the layer directly
  // above; setTrackMatte(layer, type) and trackMatteLayer are 23.0+ and take any layer of the comp.
  get trackMatteType() { return this._matteType; }
  set trackMatteType(v) {
    if (!Object.values(TrackMatteType).includes(v)) aeFail(`trackMatteType: ${v} is not a TrackMatteType`);
    const above = this.containingComp.layers[this.index - 1];
    if (v !== TrackMatteType.NO_TRACK_MATTE && !(above instanceof AVLayer)) aeFail('trackMatteType: no AV layer directly above to use as the matte');
    this._matteType = v;
    this._matteLayer = v === TrackMatteType.NO_TRACK_MATTE ? null : above;
    if (this._matteLayer) this._matteLayer.enabled = false;
  }
  get setTrackMatte() {
    if (versionNumber(this.containingComp._project._app.version) < 23) return undefined;
    return (layer, type) => {
      if (!(layer instanceof AVLayer) || layer.containingComp !== this.containingComp || layer === this) {
        aeFail('Unable to call "setTrackMatte" because of parameter 1. Value is not an AV layer of this comp.');
      }
      if (!Object.values(TrackMatteType).includes(type)) aeFail(`setTrackMatte: ${type} is not a TrackMatteType`);
      this._matteType = type;
      this._matteLayer = type === TrackMatteType.NO_TRACK_MATTE ? null : layer;
    };
  }
  get trackMatteLayer() { return this._matteLayer; }
  get hasTrackMatte() { return this._matteLayer !== null; }
  get isTrackMatte() { return this.containingComp.layers._list.some((l) => l instanceof AVLayer && l._matteLayer === this); }
  get blendingMode() { return this._blendingMode; }
  set blendingMode(v) {
    if (!Object.values(BlendingMode).includes(v)) aeFail(`blendingMode: ${v} is not a BlendingMode`);
    this._blendingMode = v;
  }
}
class CameraLayer extends Layer {
  constructor(comp, name) {
    super(comp, name);
    this.matchName = 'ADBE Camera Layer';
    this._autoOrient = AutoOrientType.CAMERA_OR_POINT_OF_INTEREST;
    this._addGroup('ADBE Marker', 'Marker');
    addTransform(this, 'camera', comp);
    // matchNames: docsforadobe docs/matchnames/layer/cameralayer.md; Depth of Field is an on/off switch;
    // zoom, focus distance and aperture are in pixels (ae-reference.md; f-stop is a dialog field only)
    const co = this._addGroup('ADBE Camera Options Group', 'Camera Options');
    co._addProp('ADBE Camera Zoom', 'Zoom', { type: ONE, value: comp.width * 1.4, min: 1e-3 });
    co._addProp('ADBE Camera Depth of Field', 'Depth of Field', { type: ONE, value: 0, min: 0, max: 1 });
    co._addProp('ADBE Camera Focus Distance', 'Focus Distance', { type: ONE, value: comp.width * 1.4, min: 1e-3 });
    co._addProp('ADBE Camera Aperture', 'Aperture', { type: ONE, value: 25, min: 0 });
    co._addProp('ADBE Camera Blur Level', 'Blur Level', { type: ONE, value: 100, min: 0 });
  }
  get cameraOption() { return this.property('ADBE Camera Options Group'); }
  get transform() { return this.property('ADBE Transform Group'); }
}

// TextLayer (textlayer.md): an AV layer whose Source Text is `ADBE Text Properties` > `ADBE Text Document`
// (docsforadobe matchnames/layer/textlayer.md); created by LayerCollection.addText([sourceText]) (layercollection.md:
// sourceText a string or TextDocument; returns TextLayer); a new layer spans the whole comp.
class TextLayer extends Layer {
  constructor(comp, text) {
    super(comp, text);
    this.matchName = 'ADBE Text Layer';
    this._addGroup('ADBE Marker', 'Marker');
    const tp = this._addGroup('ADBE Text Properties', 'Text');
    tp._addProp('ADBE Text Document', 'Source Text', { type: PropertyValueType.TEXT_DOCUMENT, value: { text } });
    addTransform(this, 'av', comp);
  }
  get sourceText() { return this.property('ADBE Text Properties').property('ADBE Text Document'); }
  get transform() { return this.property('ADBE Transform Group'); }
}

class LayerCollection {
  constructor(comp) {
    this._comp = comp;
    this._list = [];
    return new Proxy(this, {
      get(target, key, recv) {
        if (typeof key === 'string' && /^\d+$/.test(key)) return target._list[Number(key) - 1];
        return Reflect.get(target, key, recv);
      },
    });
  }
  get length() { return this._list.length; }
  _insert(layer) { this._list.unshift(layer); this._comp._project._app.log.push(['layer', this._comp.name, layer.name]); return layer; }
  add(item, duration) {
    if (!(item instanceof AVItem) || item._removed) {
      aeFail('Unable to call "add" because of parameter 1. Value is not an object of type AVItem.');
    }
    if (item === this._comp) aeFail('Unable to call "add": a comp cannot contain itself');
    if (item._project !== this._comp._project) aeFail('Unable to call "add": item belongs to another project');
    return this._insert(new AVLayer(this._comp, item, item.name, duration));
  }
  addCamera(name, center) {
    const c = Array.from(center || []);
    if (typeof name !== 'string' || c.length !== 2 || c.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      aeFail('Unable to call "addCamera": expected (name, [x, y])');
    }
    const cam = new CameraLayer(this._comp, name);
    cam.property('ADBE Transform Group').property('ADBE Anchor Point')._value = [c[0], c[1], 0];
    return this._insert(cam);
  }
  addNull(duration) {
    const c = this._comp;
    const n = c._project._items.filter((i) => i._isNull).length + 1;
    const item = c._project._newSolid([1, 1, 1], `Null ${n}`, 100, 100, 1);
    item._isNull = true;
    const layer = new AVLayer(c, item, `Null ${n}`, duration === undefined ? c.duration : duration);
    layer.nullLayer = true;
    return this._insert(layer);
  }
  addSolid(color, name, w, h, pa, duration) {
    const proj = this._comp._project;
    const item = proj._newSolid(color, name, w, h, pa);
    return this._insert(new AVLayer(this._comp, item, name, duration === undefined ? this._comp.duration : duration));
  }
  addText(sourceText) {
    const text = sourceText === undefined ? '' : sourceText;
    if (typeof text !== 'string') aeFail('Unable to call "addText" because of parameter 1. Value is not a string.');
    return this._insert(new TextLayer(this._comp, text));
  }
  byName(name) { return this._list.find((l) => l.name === name) || null; }
}

// ---- project and app --------------------------------------------------------------------------------
function checkRange(what, v, lo, hi, integer) {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi) {
    aeFail(`Unable to call "${what}": value ${v} out of range ${lo} to ${hi}`);
  }
}

class MarkerValue {
  constructor(comment, chapter, url, frameTarget, cuePointName, params) {
    if (typeof comment !== 'string') aeFail('Unable to call "MarkerValue": comment must be a string');
    this.comment = comment; this.chapter = chapter || ''; this.url = url || ''; this.frameTarget = frameTarget || '';
    this.cuePointName = cuePointName || ''; this.duration = 0; this.label = 0; this.protectedRegion = false;
  }
}

// Render queue (renderqueue.md, rqitemcollection.md, outputmodule.md): items.add(comp) makes an item with one
// output module; its file is read/write; templates lists the installed output-module templates and
// applyTemplate takes one of them; the format is not settable by script (outputmodule.md).
class OutputModule {
  constructor(app, comp) { this._app = app; this.file = new app._File(`/tmp/${comp.name}.avi`); this._template = 'Lossless'; }
  get templates() { return this._app._omTemplates.slice(); }
  get name() { return this._template; }
  applyTemplate(name) {
    if (!this._app._omTemplates.includes(name)) aeFail(`Unable to call "applyTemplate": no output module template "${name}"`);
    this._template = name;
  }
}
class RenderQueueItem {
  constructor(app, comp) { this.comp = comp; this._oms = [new OutputModule(app, comp)]; }
  get numOutputModules() { return this._oms.length; }
  outputModule(i) { if (i < 1 || i > this._oms.length) aeFail(`output module ${i} out of range`); return this._oms[i - 1]; }
  remove() { const l = this.comp._project._rq; l.splice(l.indexOf(this), 1); }
}

class ImportOptions {
  constructor(file) { this.file = file; this.sequence = false; this.forceAlphabetical = false; this.importAs = ImportAsType.FOOTAGE; }
  canImportAs(type) { return type === ImportAsType.FOOTAGE && Boolean(this.file) && /\.(exr|png|tif|tiff|jpg|dpx)$/i.test(this.file.fsName); }
}

class Project {
  constructor(app) {
    this._app = app;
    this._items = [];
    this._root = null;
    this._root = new FolderItem(this, 'Root');
    this._bpc = 8;
    this.linearBlending = false;
    this._space = app._colorProfiles ? 'None' : undefined;
    this._linearize = app._colorProfiles ? false : undefined;
    this._rq = [];
    // colour management system (24.0+): 0 Adobe, 1 OCIO with the config's colour space names
    this._cms = versionNumber(app.version) >= 24 ? (app._ocio ? 1 : 0) : undefined;
    this._ocioFile = app._ocio ? app._ocio.config : '';
    if (app._ocio) this._space = app._ocio.workingSpace;
  }
  get colorManagementSystem() { return this._cms; }
  set colorManagementSystem(v) {
    if (this._cms === undefined) return;
    if (v !== 0 && v !== 1) aeFail(`colorManagementSystem: ${v} is not 0 (Adobe) or 1 (OCIO)`);
    this._cms = v;
  }
  get ocioConfigurationFile() { return this._cms === undefined ? undefined : this._ocioFile; }
  set ocioConfigurationFile(v) { if (this._cms !== undefined) { this._ocioFile = String(v); this._app.log.push(['ocioConfigurationFile', String(v)]); } }
  get renderQueue() {
    const proj = this;
    return {
      get numItems() { return proj._rq.length; },
      item(i) { return proj._rq[i - 1]; },
      items: {
        get length() { return proj._rq.length; },
        add(comp) {
          if (!(comp instanceof CompItem) || comp._removed) aeFail('Unable to call "add" because of parameter 1. Value is not a CompItem.');
          const it = new RenderQueueItem(proj._app, comp);
          proj._rq.push(it);
          return it;
        },
      },
    };
  }
  get rootFolder() { return this._root; }
  get items() {
    const proj = this;
    const coll = {
      get length() { return proj._items.length; },
      addComp(name, w, h, pa, dur, fps) {
        if (typeof name !== 'string') aeFail('Unable to call "addComp" because of parameter 1. Value is not a string.');
        checkRange('addComp', w, 4, 30000, true); checkRange('addComp', h, 4, 30000, true);
        checkRange('addComp', pa, 0.01, 100); checkRange('addComp', dur, 0, 10800); checkRange('addComp', fps, 1, 99); // itemcollection.md
        return proj._addItem(new CompItem(proj, name, w, h, pa, dur, fps));
      },
      addFolder(name) { return proj._addItem(new FolderItem(proj, name)); },
    };
    return new Proxy(coll, { get(t, k, r) { return typeof k === 'string' && /^\d+$/.test(k) ? proj._items[Number(k) - 1] : Reflect.get(t, k, r); } });
  }
  get numItems() { return this._items.length; }
  item(i) { return this._items[i - 1]; }
  // Colour settings (project.md): workingSpace, linearizeWorkingSpace, listColorProfiles() since 16.0;
  // older versions have none of them (undefined).  A working space must be one AE lists, or '' (None).
  get workingSpace() { return this._space; }
  set workingSpace(v) {
    if (this._space === undefined) { this._extra = true; return; }
    if (this._cms === 1) {
      if (!this._app._ocio.spaces.includes(v)) aeFail(`workingSpace: "${v}" is not a colour space of the OCIO config`);
      this._space = v;
      return;
    }
    if (v !== '' && !this._app._colorProfiles.includes(v)) aeFail(`workingSpace: "${v}" is not a color profile of this After Effects`);
    this._space = v === '' ? 'None' : v;
  }
  get linearizeWorkingSpace() { return this._linearize; }
  set linearizeWorkingSpace(v) {
    if (this._linearize === undefined) return;
    if (typeof v !== 'boolean') aeFail('linearizeWorkingSpace must be a boolean');
    this._linearize = v;
  }
  get listColorProfiles() {
    if (!this._app._colorProfiles) return undefined;
    return () => this._app._colorProfiles.slice();
  }
  get bitsPerChannel() { return this._bpc; }
  set bitsPerChannel(v) {
    if (![8, 16, 32].includes(v)) aeFail(`bitsPerChannel: ${v} is not 8, 16 or 32`);
    if (this._cms === 1 && v === 16) aeFail('bitsPerChannel: 16 bpc is not supported in OCIO mode'); // generate_model_samples.jsx
    this._bpc = v;
  }
  _addItem(item) { this._items.push(item); this._app.log.push(['item', item.typeName, item.name]); return item; }
  _removeItem(item) {
    if (item instanceof FolderItem) for (const child of item.items) this._removeItem(child);
    for (const comp of this._items.filter((i) => i instanceof CompItem)) {
      for (const l of comp.layers._list.filter((l) => l.source === item)) l.remove();
    }
    item._removed = true;
    this._items.splice(this._items.indexOf(item), 1);
  }
  _newSolid(color, name, w, h, pa) {
    const c = Array.from(color || []);
    if (c.length !== 3 || c.some((x) => typeof x !== 'number' || x < 0 || x > 1)) aeFail('Unable to call "addSolid": color must be 3 numbers 0..1');
    checkRange('addSolid', w, 4, 30000, true); checkRange('addSolid', h, 4, 30000, true);
    let solids = this._items.find((i) => i instanceof FolderItem && i.name === 'Solids' && i._parentFolder === this._root);
    if (!solids) solids = this._addItem(new FolderItem(this, 'Solids'));
    const item = new FootageItem(this, name, new SolidSource(c), w, h, pa, undefined);
    item._typeName = 'Footage';
    item._parentFolder = solids;
    return this._addItem(item);
  }
  importFile(io) {
    if (!(io instanceof ImportOptions)) aeFail('Unable to call "importFile" because of parameter 1. Value is not an object of type ImportOptions.');
    const file = io.file;
    if (!file || !fs.existsSync(file.fsName)) aeFail(`File "${file && file.fsName}" cannot be found.`);
    if (!io.canImportAs(io.importAs)) aeFail(`Can't import file "${file.fsName}": unsupported filetype`);
    const first = file.fsName;
    let frames = [first];
    let name = path.basename(first);
    const m = /^([\s\S]*?)(\d+)(\D*)$/.exec(path.basename(first));
    if (io.sequence && m) {
      const [, pre, digits, post] = m;
      frames = scanSequence(first);
      const last = String(Number(digits) + frames.length - 1).padStart(digits.length, '0');
      name = `${pre}[${digits}-${last}]${post}`;
    }
    const header = readExrHeader(first);
    const src = new FileSource(file, frames, Boolean(io.sequence && m));
    const chans = header.channels.map((c) => c.name);
    src.hasAlpha = chans.includes('A');
    src._alphaMode = src.hasAlpha ? AlphaMode.PREMULTIPLIED : AlphaMode.IGNORE; // fnord OpenEXR.cpp forces PREMUL
    src.channels = chans;
    const item = new FootageItem(this, name, src, header.width, header.height, header.pixelAspect || 1, io.sequence ? frames.length : undefined);
    src._item = item;
    this._app.log.push(['import', first, io.sequence]);
    return this._addItem(item);
  }
}

class Application {
  constructor(opts) {
    this.version = opts.version || '24.0x57';
    this._colorProfiles = versionNumber(this.version) >= 16 ? (opts.colorProfiles || COLOR_PROFILES).slice() : null;
    this.buildName = 'model';
    this.log = [];
    this.alerts = [];
    this.undo = { depth: 0, groups: [], maxDepth: 0 };
    this._locale = opts.locale || 'en';
    this._ocio = opts.ocio || null; // {config, spaces, workingSpace}
    this._omTemplates = (opts.omTemplates || ['Lossless', 'High Quality', 'Lossless with Alpha']).slice();
    this._effects = (opts.effects || Object.keys(EFFECTS)).map((m) => ({ displayName: this.localise(EFFECTS[m].displayName), matchName: m, version: '1', category: EFFECTS[m].category }));
    this.project = new Project(this);
  }
  get effects() { return this._effects.map((e) => ({ ...e })); }
  /** A display name as this AE's language shows it (stand-ins for non-English languages). */
  localise(name) { return this._locale === 'en' ? name : `${name} [${this._locale}]`; }
  beginUndoGroup(name) { this.undo.depth++; this.undo.maxDepth = Math.max(this.undo.maxDepth, this.undo.depth); this.undo.groups.push(String(name)); }
  endUndoGroup() { if (this.undo.depth <= 0) aeFail('endUndoGroup without beginUndoGroup'); this.undo.depth--; }
}

// ---- ScriptUI (just enough for the panel) -------------------------------------------------------------
class _Control {
  constructor(type, parent, props) {
    this.type = type; this.parent = parent; this.children = []; this.text = ''; this.value = false; this.enabled = true; this.visible = true;
    Object.assign(this, props || {});
  }
  add(type, bounds, text, props) {
    const c = new _Control(type, this, props);
    if (typeof bounds === 'string') { c.text = bounds; } else if (text !== undefined) c.text = text;
    this.children.push(c);
    return c;
  }
  find(pred) {
    for (const c of this.children) { if (pred(c)) return c; const r = c.find(pred); if (r) return r; }
    return null;
  }
  layout = { layout() {}, resize() {} };
  show() { this.shown = true; }
  center() { this.centered = true; }
  close() { this.closed = true; }
}
class Panel extends _Control { constructor() { super('panel', null); } }
class Window extends _Control { constructor(type, title) { super(type, null); this.text = title || ''; } }

// ---- preprocessor and runner ---------------------------------------------------------------------------
const INCLUDE_RE = /^[ \t]*(?:\/\/@|#)include[ \t]+(["'])(.*?)\1[ \t]*;?[ \t]*$/;

/** Inline //@include files (resolved against the including file), as ExtendScript's preprocessor does. */
function preprocess(file, seen = []) {
  if (seen.includes(file)) throw new Error(`include cycle: ${file}`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  return lines.map((line) => {
    const m = INCLUDE_RE.exec(line.replace(/\r$/, ''));
    if (!m) return line;
    const target = path.resolve(path.dirname(file), fileDecode(m[2]));
    if (!fs.existsSync(target)) throw new Error(`ExtendScript: cannot open include file ${target} (from ${file})`);
    return preprocess(target, [...seen, file]);
  }).join('\n');
}

/**
 * A fresh AE: {app, context, runFile(path), evalSource(code)}.
 * opts: {version, effects: [matchNames installed], dialogs: {openFile: [], selectFolder: []}}
 */
function createAE(opts = {}) {
  const record = { evalFiles: [], dialogs: { openFile: [], selectFolder: [], ...(opts.dialogs || {}) } };
  const { File, Folder } = makeFileClasses(record);
  const app = new Application(opts);
  app._File = File;
  const dollar = {
    fileName: '', engineName: 'main', version: '4.5.5', build: 'model', global: null,
    writeln() {}, write() {},
    evalFile(file) { record.evalFiles.push(file.fsName); return runFile(file.fsName); },
  };
  const sandbox = {
    app, $: dollar, File, Folder, ImportOptions, MarkerValue,
    AlphaMode, AutoOrientType, ImportAsType, KeyframeInterpolationType, PropertyValueType, PropertyType, BlendingMode,
    TrackMatteType,
    FootageItem, CompItem, FolderItem, AVItem, Item, AVLayer, CameraLayer, Layer, Property, PropertyGroup, FileSource,
    Panel, Window,
    alert(msg, title, errorIcon) { app.alerts.push({ message: String(msg), title, errorIcon: Boolean(errorIcon) }); },
    confirm() { return true; },
    isValid(o) { return Boolean(o) && !o._removed; },
  };
  const context = vm.createContext(sandbox);
  dollar.global = vm.runInContext('this', context);
  function runFile(p) {
    const abs = path.resolve(p);
    const code = preprocess(abs);
    const prev = dollar.fileName;
    dollar.fileName = abs;
    try {
      return vm.runInContext(code, context, { filename: abs });
    } finally {
      dollar.fileName = prev;
    }
  }
  return {
    app, context, record, File, Folder, runFile,
    evalSource: (code, filename = 'eval.jsx') => vm.runInContext(code, context, { filename }),
  };
}

/** Plain summary of a comp, for assertions. */
/** What Add Grain renders by its Viewing Mode (Adobe help): only a preview box unless Final Output. */
function grainOutput(effect) {
  return { 1: 'preview box', 2: 'blending matte', 3: 'final output' }[effect.property('VISINF Grain Implant-0021').value];
}

/** Effects under 32 bpc (EFFECTS[].bpc, from firstparty.md) that would see the HDR picture: on an
 * adjustment layer or a footage layer, rather than on a solid of their own. */
function lowBitEffectsOnPicture(comp) {
  const out = [];
  for (const l of comp.layers._list) {
    const fx = l.property('ADBE Effect Parade');
    if (!fx) continue;
    const onPicture = l.adjustmentLayer || (l.source && l.source.mainSource instanceof FileSource) || l.source instanceof CompItem;
    for (const e of fx._children) if (EFFECTS[e.matchName].bpc < 32 && onPicture) out.push(`${l.name}: ${e.matchName}`);
  }
  return out;
}

function describeLayer(layer) {
  const fx = layer.property('ADBE Effect Parade');
  return {
    index: layer.index,
    name: layer.name,
    kind: layer instanceof CameraLayer ? 'camera' : 'av',
    enabled: layer.enabled,
    source: layer.source instanceof FootageItem && layer.source.mainSource instanceof FileSource ? layer.source.mainSource.file.fsName : null,
    effects: fx ? fx._children.map((e) => e.matchName) : [],
  };
}

module.exports = {
  createAE, preprocess, describeLayer, grainOutput, lowBitEffectsOnPicture, fileEncode, fileDecode, EFFECTS, COLOR_PROFILES, TrackMatteType, BlendingMode,
  AlphaMode, AutoOrientType, KeyframeInterpolationType, PropertyValueType,
  FootageItem, CompItem, FolderItem, FileSource, SolidSource, CameraLayer, AVLayer, TextLayer, Property, PropertyGroup, MarkerValue,
  ImportAsType, PropertyType,
};
