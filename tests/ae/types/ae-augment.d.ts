// Members the types-for-adobe AfterEffects typings (26.0 and older) lack, that the dreamrooms library uses.
// Source: forticheprod/aep_parser scripts/jsx/generate_model_samples.jsx, a script that runs in After
// Effects 2024+ and sets these ("CC 2024+ (undocumented): colorManagementSystem, lutInterpolationMethod,
// ocioConfigurationFile"; colorManagementSystem = 0 Adobe, 1 OCIO; in OCIO mode workingSpace takes the
// config's colour space names, e.g. "ACEScct").  Absent (undefined) before 24.0.
interface Project {
  /** 0: Adobe colour management, 1: OCIO (24.0+; undefined before). */
  colorManagementSystem: number
  /** The OCIO config file of an OCIO project (24.0+). */
  ocioConfigurationFile: string
}
