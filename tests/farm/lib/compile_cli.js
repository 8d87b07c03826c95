'use strict';
// Compile a dreamrooms Flamenco job in the model and print its tasks as JSON (name, type, the argv a
// Worker would run, step count, dependency names), in the order the script added them.
//   node tests/farm/lib/compile_cli.js '{"settings": {...}, "variables": {...}}'
// On a compile error: the message on stderr, exit 1. Used by tests/blender/test_flamenco_job.py.
const path = require('node:path');
const { loadJobType, workerArgv } = require('./flamenco');

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'farm', 'flamenco', 'dreamrooms.js');

function main(argv) {
  const request = JSON.parse(argv[2] || '{}');
  const job = loadJobType(SCRIPT).compile(request.settings || {});
  return job.tasks.map((t) => ({
    name: t.name,
    type: t.type,
    commands: t.commands.map((c) => ({ name: c.name, argv: workerArgv(c, request.variables || {}), steps: c.totalStepCount })),
    dependencies: t.dependencies.map((d) => d.name),
  }));
}

try {
  process.stdout.write(`${JSON.stringify({ tasks: main(process.argv) }, null, 1)}\n`);
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
