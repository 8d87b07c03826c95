'use strict';
// Static checks for ExtendScript files: acorn at ES3 and tsc against types-for-adobe.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const acorn = require('acorn');
const ts = require('typescript');

const aeTypes = (version) => path.join(__dirname, '..', 'node_modules', 'types-for-adobe', 'AfterEffects', version, 'index.d.ts');
const AE_TYPES = aeTypes('26.0');
// APIs the typings lack, each with its public source (types/ae-augment.d.ts)
const AUGMENT = path.join(__dirname, '..', 'types', 'ae-augment.d.ts');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const LIBRARY = path.join(ROOT, 'ae_scripts', 'dreamrooms.jsxinc');
const DOM = path.join(ROOT, 'ae_scripts', 'dreamrooms_dom.jsxinc');
const PROJECT = path.join(ROOT, 'ae_scripts', 'dreamrooms_project.jsxinc');
const LAYERS = path.join(ROOT, 'ae_scripts', 'dreamrooms_layers.jsxinc');
const PANEL = path.join(ROOT, 'ae_scripts', 'Dreamrooms Panel.jsx');

/** Parse as ECMAScript 3 (reserved words never allowed, as in ExtendScript); throws SyntaxError. */
function parseES3(file) {
  const text = fs.readFileSync(file, 'utf8');
  return acorn.parse(text, {
    ecmaVersion: 3, allowReserved: 'never', sourceType: 'script', locations: true,
    sourceFile: file, allowHashBang: false,
  });
}

const TS_OPTIONS = {
  allowJs: true, checkJs: true, noEmit: true, noLib: true, strict: true, types: [],
  jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None,
  skipLibCheck: true,
};

/** Type-check files together with the AE typings of `version`; returns formatted diagnostics ('' when clean). */
function typecheck(files, version = '26.0') {
  // tsc reads '\\' in a path as a separator and checks only .js/.jsx files, so files under hostile
  // folder names or with another extension (.jsxinc) are checked as byte-identical .jsx copies in a
  // plain temporary folder.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dreamrooms-tsc-'));
  try {
    const copies = files.map((f, i) => {
      if (!/[\\\n]/.test(f) && /\.jsx?$/.test(f)) return f;
      const dst = path.join(tmp, `${i}-${path.basename(f).replace(/[^A-Za-z0-9._-]/g, '_')}.jsx`);
      fs.copyFileSync(f, dst);
      return dst;
    });
    return typecheckPlain(copies, aeTypes(version));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function typecheckPlain(files, types) {
  const program = ts.createProgram([types, AUGMENT, ...files], TS_OPTIONS);
  const diags = ts.getPreEmitDiagnostics(program);
  if (!diags.length) return '';
  return ts.formatDiagnostics(diags, {
    getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n',
  });
}

module.exports = { parseES3, typecheck, aeTypes, AUGMENT, AE_TYPES, ROOT, LIBRARY, DOM, PROJECT, LAYERS, PANEL };
