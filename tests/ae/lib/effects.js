'use strict';
// The effect tables of the AE model: every parameter the library uses, with type, range and public source.
const { PropertyValueType } = require('./enums');

// ---- effects ----------------------------------------------------------------------------------------
const ONE = PropertyValueType.OneD; const LAYER = PropertyValueType.LAYER_INDEX; const NONE = PropertyValueType.NO_VALUE;
const COLOR = PropertyValueType.COLOR; const TWO = PropertyValueType.TwoD_SPATIAL; const CUSTOM = PropertyValueType.CUSTOM_VALUE;
const BOOL = { type: ONE, value: 0, min: 0, max: 1, menuBool: true };
// The effects the library uses, with every parameter the public sources name.  Sources, by key:
//   FP   docsforadobe after-effects-scripting-guide docs/matchnames/effects/firstparty.md (matchName,
//        English display name, bits per channel)
//   SKD  google/skia modules/skottie/src/effects/DisplacementMapEffect.cpp (parameter order, menu
//        codes 1-based, 128 = neutral, Edge Behavior != 0 wraps)
//   SKF  google/skia modules/skottie/src/effects/FractalNoiseEffect.cpp (parameter order)
//   SKL  google/skia modules/skottie/src/effects/LevelsEffect.cpp (channel menu, 0..1 levels)
//   REF  /work/shared/ae-reference.md (decoded .aep pard chunks of AE 17.7; Fractal Noise -0023 Evolution,
//        Fill -0002/-0005 opacity 0..1, Levels -0003..-0007)
//   GOT  an "AE Scripting Gotchas (Verified)" note read back from a running AE 2026 (public code corpus):
//        Levels values 0..1 with range -10000..10000; Camera Lens Blur -0018 Highlight Threshold 0..1;
//        Fractal Noise -0009 Uniform Scaling
//   GRN  public Add Grain scripts: "Add grain" (Jordan Steele, ft-toolbar "Get Effect with Parameters")
//        sets VISINF Grain Implant-0021 (the first control, Viewing Mode) to 3 = Final Output; lumit's AE
//        importer (add_grain) names -0008 intensity, -0007 size, -0130 softness, -0002..-0004 channel
//        intensities, -0005 monochromatic, -0013 random seed, -0039 animation speed
//   ADB  Adobe After Effects help: Camera Lens Blur / Lens Blur (Blur Focal Distance "depth of the focal
//        plane"), Add Grain (Viewing Mode Preview shows a grained box only; Final Output grains the frame)
//   BLG  odederell3d.blog "After Effects - Camera Lens Blur effect" (AE CC 2019): Blur Focal Distance 0.0..1.0
//   APR  forticheprod/aep_parser src/py_aep/models/properties/overrides.py: _PROPERTY_MIN_MAX ranges read back
//        from a running AE (Camera Lens Blur -0013 (0, 1), -0018 (0, 1); Easy Levels2 -0005 Gamma (0, 5)) and
//        _NAME_OVERRIDES (Camera Lens Blur -0021 and Displacement Map -0007 "Edge Behavior")
//   SCR  public AE scripts writing these matchNames (Depth-Scanner style DoF builders: Camera Lens Blur -0001
//        radius, -0010 blur map layer)
// `unconfirmed: true` marks a matchName no source gives: the model refuses lookups by it, so the library
// has to find that parameter by its display name.  Ranges are the valid ranges where a source gives them,
// otherwise the UI slider range (stricter than AE, never looser) and say so.
const EFFECTS = {
  'ADBE Camera Lens Blur': { displayName: 'Camera Lens Blur', category: 'Blur & Sharpen', bpc: 32, params: [ // FP
    ['-0001', 'Blur Radius', { type: ONE, value: 5, min: 0, max: 500 }], // SCR (matchName); range: UI slider 0..500 (ADB)
    ['-0002', 'Iris Properties', { type: NONE, unconfirmed: true }],
    ['-0003', 'Shape', { type: ONE, value: 6, menu: 8, unconfirmed: true }], // ADB: polygon iris shapes
    ['-0004', 'Roundness', { type: ONE, value: 0, min: 0, max: 100, unconfirmed: true }],
    ['-0009', 'Blur Map', { type: NONE, unconfirmed: true }],
    ['-0010', 'Layer', { type: LAYER, value: 0, varying: false }], // SCR; ARCHITECTURE.md
    ['-0011', 'Channel', { type: ONE, value: 1, menu: 5, unconfirmed: true }],
    ['-0012', 'Placement', { type: ONE, value: 2, menu: 2, unconfirmed: true }], // REF: "Placement", not "Stretch Map To Fit"
    // Blur Focal Distance: matchName and range (0, 1) from APR, inside the blur-map block (-0010 layer, -0018
    // threshold); BLG agrees on 0..1.  The library still writes 0..1 data times the property's maxValue.
    ['-0013', 'Blur Focal Distance', { type: ONE, value: 0, min: 0, max: 1 }],
    ['-0014', 'Invert Blur Map', { ...BOOL, unconfirmed: true }],
    ['-0018', 'Highlight Threshold', { type: ONE, value: 0.8, min: 0, max: 1 }], // GOT; APR (0, 1)
    ['-0021', 'Edge Behavior', { type: NONE, unconfirmed: true }], // APR: a group named Edge Behavior
  ] },
  'ADBE Displacement Map': { displayName: 'Displacement Map', category: 'Distort', bpc: 32, params: [ // FP
    ['-0001', 'Displacement Map Layer', { type: LAYER, value: 0, varying: false }], // SKD index 0
    // Use For: 1 Red 2 Green 3 Blue 4 Alpha 5 Luminance 6 Hue 7 Lightness 8 Saturation 9 Full 10 Half 11 Off (SKD)
    ['-0002', 'Use For Horizontal Displacement', { type: ONE, value: 1, menu: 11 }],
    // Max displacement: valid range NF; the model uses the UI slider range -100..100 px (stricter)
    ['-0003', 'Max Horizontal Displacement', { type: ONE, value: 5, min: -100, max: 100 }],
    ['-0004', 'Use For Vertical Displacement', { type: ONE, value: 2, menu: 11 }],
    ['-0005', 'Max Vertical Displacement', { type: ONE, value: 5, min: -100, max: 100 }],
    ['-0006', 'Displacement Map Behavior', { type: ONE, value: 1, menu: 3 }], // 1 Center 2 Stretch 3 Tile (SKD)
    // Wrap Pixels Around (SKD: any value != 0 repeats the source, pulling the far edge in; APR names it Edge Behavior)
    ['-0007', 'Edge Behavior', { ...BOOL }],
    // Expand Output (SKD kExpandOutput_Index, unbound there): default on in the model, so a script has to set it
    ['-0008', 'Expand Output', { ...BOOL, value: 1 }],
  ] },
  'VISINF Grain Implant': { displayName: 'Add Grain', category: 'Noise & Grain', bpc: 16, params: [ // FP (16 bpc)
    // Viewing Mode: 1 Preview (the default: a 200x200 box), 2 Blending Matte, 3 Final Output (ADB, GRN)
    ['-0021', 'Viewing Mode', { type: ONE, value: 1, menu: 3 }],
    ['-0008', 'Intensity', { type: ONE, value: 1, min: 0, max: 20 }], // GRN; range: UI slider (ADB)
    ['-0007', 'Size', { type: ONE, value: 1, min: 0.1, max: 5 }], // GRN; range: UI slider
    ['-0130', 'Softness', { type: ONE, value: 0, min: 0, max: 5 }], // GRN; range: UI slider
    ['-0005', 'Monochromatic', { ...BOOL }], // GRN
    ['-0013', 'Random Seed', { type: ONE, value: 0, min: 0, max: 10000 }], // GRN
    ['-0039', 'Animation Speed', { type: ONE, value: 1, min: 0, max: 5 }], // GRN; range: UI slider
  ] },
  'ADBE Fractal Noise': { displayName: 'Fractal Noise', category: 'Noise & Grain', bpc: 32, params: [ // FP
    ['-0001', 'Fractal Type', { type: ONE, value: 1, menu: 17 }], // REF, SKF
    ['-0002', 'Noise Type', { type: ONE, value: 3, menu: 4 }], // SKF
    ['-0003', 'Invert', { ...BOOL }], // SKF
    ['-0004', 'Contrast', { type: ONE, value: 100, min: 0, max: 400 }], // REF (slider 0..400)
    ['-0005', 'Brightness', { type: ONE, value: 0, min: -200, max: 200 }], // SKF; range: UI slider
    ['-0006', 'Overflow', { type: ONE, value: 4, menu: 4 }], // REF (HDR = 4, default)
    ['-0009', 'Uniform Scaling', { ...BOOL, value: 1 }], // GOT
    ['-0010', 'Scale', { type: ONE, value: 100, min: 20, max: 600 }], // REF (not Evolution); range: UI slider
    ['-0015', 'Complexity', { type: ONE, value: 6, min: 1, max: 20 }], // REF; SKF pins 1..20
    ['-0023', 'Evolution', { type: ONE, value: 0 }], // REF: an angle, unbounded
    ['-0027', 'Random Seed', { type: ONE, value: 0 }], // REF
    ['-0029', 'Opacity', { type: ONE, value: 100, min: 0, max: 100 }], // REF
    ['-0030', 'Blending Mode', { type: ONE, value: 1, menu: 21 }], // REF
  ] },
  'ADBE Fill': { displayName: 'Fill', category: 'Generate', bpc: 32, params: [ // FP
    ['-0001', 'Fill Mask', { type: PropertyValueType.MASK_INDEX, value: 0, varying: false, unconfirmed: true }],
    ['-0002', 'Color', { type: COLOR, value: [1, 0, 0, 1] }], // REF
    ['-0005', 'Opacity', { type: ONE, value: 1, min: 0, max: 1 }], // REF (stored 0..1)
  ] },
  'ADBE Easy Levels2': { displayName: 'Levels', category: 'Color Correction', bpc: 32, params: [ // FP
    ['-0001', 'Channel', { type: ONE, value: 1, menu: 5 }], // SKL: 1 RGB 2 R 3 G 4 B 5 A
    ['-0002', 'Histogram', { type: CUSTOM }], // SKL (unbound index 1)
    ['-0003', 'Input Black', { type: ONE, value: 0, min: -10000, max: 10000 }], // REF, SKL, GOT (0..1, range +-10000)
    ['-0004', 'Input White', { type: ONE, value: 1, min: -10000, max: 10000 }],
    ['-0005', 'Gamma', { type: ONE, value: 1, min: 0, max: 5 }], // GOT (-0005 is Gamma); range APR (0, 5)
    ['-0006', 'Output Black', { type: ONE, value: 0, min: -10000, max: 10000 }],
    ['-0007', 'Output White', { type: ONE, value: 1, min: -10000, max: 10000 }],
    ['-0008', 'Clip To Output Black', { type: ONE, value: 1, menu: 3 }], // SKL: 1 clip, 2/3 don't
    ['-0009', 'Clip To Output White', { type: ONE, value: 1, menu: 3 }],
  ] },
  'ADBE Gaussian Blur 2': { displayName: 'Gaussian Blur', category: 'Blur & Sharpen', bpc: 32, params: [ // FP
    ['-0001', 'Blurriness', { type: ONE, value: 0, min: 0, max: 3000 }], // SCR (-0001); range: NF, UI 0..3000
    ['-0002', 'Blur Dimensions', { type: ONE, value: 1, menu: 3 }],
    ['-0003', 'Repeat Edge Pixels', { ...BOOL }],
  ] },
  // Expression controls (FP): one parameter each, -0001 (SCR: scripts set "ADBE Slider Control-0001").
  // Slider values -1,000,000..1,000,000 (ADB: the Slider Control's value range; the UI slider shows 0..100).
  'ADBE Slider Control': { displayName: 'Slider Control', category: 'Expression Controls', bpc: 32, params: [ // FP
    ['-0001', 'Slider', { type: ONE, value: 0, min: -1000000, max: 1000000 }],
  ] },
  'ADBE Color Control': { displayName: 'Color Control', category: 'Expression Controls', bpc: 32, params: [ // FP
    ['-0001', 'Color', { type: COLOR, value: [1, 0, 0, 1] }],
  ] },
  'ADBE Checkbox Control': { displayName: 'Checkbox Control', category: 'Expression Controls', bpc: 32, params: [ // FP
    ['-0001', 'Checkbox', { ...BOOL }],
  ] },
  'ADBE Point Control': { displayName: 'Point Control', category: 'Expression Controls', bpc: 32, params: [ // FP
    ['-0001', 'Point', { type: TWO, value: [0, 0] }],
  ] },
  'ADBE Layer Control': { displayName: 'Layer Control', category: 'Expression Controls', bpc: 32, params: [ // FP
    ['-0001', 'Layer', { type: LAYER, value: 0, varying: false }],
  ] },
};

module.exports = { EFFECTS };
