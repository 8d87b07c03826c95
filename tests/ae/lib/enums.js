'use strict';
// Enum values of the AE scripting DOM, from types-for-adobe AfterEffects/26.0/index.d.ts (npm types-for-adobe 7.2.6,
// which ships the 26.0 typings); test/issue26.test.js reads that file and checks every value below against it.
// ---- enums (values from the typings) ------------------------------------------------------------
const AlphaMode = { IGNORE: 5413, PREMULTIPLIED: 5414, STRAIGHT: 5412 };
const AutoOrientType = { ALONG_PATH: 4213, CAMERA_OR_POINT_OF_INTEREST: 4214, CHARACTERS_TOWARD_CAMERA: 4215, NO_AUTO_ORIENT: 4212 };
const ImportAsType = { COMP: 3814, COMP_CROPPED_LAYERS: 3812, FOOTAGE: 3813, PROJECT: 3815 };
const KeyframeInterpolationType = { LINEAR: 6612, BEZIER: 6613, HOLD: 6614 };
const PropertyValueType = {
  NO_VALUE: 6412, ThreeD_SPATIAL: 6413, ThreeD: 6414, TwoD_SPATIAL: 6415, TwoD: 6416, OneD: 6417,
  COLOR: 6418, CUSTOM_VALUE: 6419, MARKER: 6420, LAYER_INDEX: 6421, MASK_INDEX: 6422, SHAPE: 6423,
  TEXT_DOCUMENT: 6424,
};
const PropertyType = { PROPERTY: 6212, INDEXED_GROUP: 6214, NAMED_GROUP: 6213 };
const BlendingMode = { NORMAL: 5212, ADD: 5220, SCREEN: 5222, MULTIPLY: 5216, OVERLAY: 5226, LINEAR_LIGHT: 5229 };
const TrackMatteType = { ALPHA: 5013, ALPHA_INVERTED: 5014, LUMA: 5015, LUMA_INVERTED: 5016, NO_TRACK_MATTE: 5012 };
// Working-space profile descriptions a stock AE offers (listColorProfiles(), AE 16.0+); the ICC names
// of the sRGB and Rec. 709 profiles AE ships.
const COLOR_PROFILES = ['sRGB IEC61966-2.1', 'HDTV (Rec. 709)', 'SDTV NTSC', 'Adobe RGB (1998)', 'ProPhoto RGB'];
/** AE version number of an app.version string such as '24.0x57'. */
const versionNumber = (v) => parseFloat(v);

module.exports = { AlphaMode, AutoOrientType, ImportAsType, KeyframeInterpolationType, PropertyValueType, PropertyType, BlendingMode, TrackMatteType, COLOR_PROFILES, versionNumber };
