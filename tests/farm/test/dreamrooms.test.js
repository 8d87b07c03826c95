'use strict';
// farm/flamenco/dreamrooms.js compiled in the model of Flamenco's job compiler (lib/flamenco.js):
// the tasks, the exact argv each Worker runs, the chunking, the AE task's dependencies, validation.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadJobType, checkJobType, workerArgv } = require('../lib/flamenco');

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'farm', 'flamenco', 'dreamrooms.js');
const VARS = { dreamrooms_headless: '/farm/dreamrooms/blender_addon/headless.py', dreamrooms: '/farm/venv/bin/dreamrooms' };
const SHOT = '/farm/shots/sh010';
const BASE = { shot: SHOT, frames: '1-10', chunk_size: 4, samples: 16, device: 'CPU' };

const jobType = loadJobType(SCRIPT);
const compile = (settings) => jobType.compile(settings);
const renders = (job) => job.tasks.filter((t) => t.type === 'blender');
/** The `--frames` value of each render task, as the Worker runs it. */
const chunks = (job) => renders(job).map((t) => {
  const argv = workerArgv(t.commands[0], VARS);
  return argv[argv.indexOf('--frames') + 1];
});

test('the job type is called dreamrooms and its JOB_TYPE matches the AvailableJobSetting schema', () => {
  assert.equal(jobType.name, 'dreamrooms');
  assert.deepEqual(checkJobType(jobType.jobType), []);
  const keys = jobType.jobType.settings.map((s) => s.key);
  for (const key of ['shot', 'frames', 'chunk_size', 'samples', 'device', 'headless', 'dreamrooms', 'blendfile']) {
    assert.ok(keys.includes(key), `setting ${key}`);
  }
  for (const s of jobType.jobType.settings) assert.ok(s.description, `setting ${s.key} has a description`);
});

test('the schema check itself finds a bad type, a bad visibility and choices on an int setting', () => {
  const problems = checkJobType({ label: 'x', settings: [
    { key: 'a', type: 'integer' }, { key: 'b', type: 'string', visible: 'always' },
    { key: 'c', type: 'int32', choices: ['1'] }, { key: 'd', type: 'string', choices: ['X'], default: 'Y' }] });
  assert.equal(problems.length, 4, problems.join('\n'));
});

test('frames 1-10 in chunks of 4: three render tasks with the exact Blender argv, then the AE task', () => {
  const job = compile(BASE);
  assert.deepEqual(job.tasks.map((t) => `${t.name}:${t.type}`),
    ['render-1-4:blender', 'render-5-8:blender', 'render-9-10:blender', 'ae:misc']);
  const [first] = renders(job);
  assert.equal(first.commands.length, 1);
  assert.equal(first.commands[0].name, 'blender-render');
  const argv = workerArgv(first.commands[0], VARS);
  const expr = argv[argv.indexOf('--python-expr') + 1];
  assert.deepEqual(argv, [
    'blender', '-b', '-y', `${SHOT}/room.blend`,
    '--python-exit-code', '1', '--python-expr', expr,
    '-P', '/farm/dreamrooms/blender_addon/headless.py',
    '--', 'render', SHOT, '--frames', '1-4',
  ]);
  assert.match(expr, /^samples = 16$/m);
  assert.match(expr, /^device = 'CPU'$/m);
  assert.deepEqual(chunks(job), ['1-4', '5-8', '9-10']);
  // the Worker counts one step per rendered frame ("Time:" lines)
  assert.deepEqual(renders(job).map((t) => t.commands[0].totalStepCount), [4, 4, 2]);
});

test('the AE task runs `dreamrooms ae SHOT` and depends on every render task, renders on nothing', () => {
  const job = compile({ ...BASE, frames: '1-23', chunk_size: 5 });
  const ae = job.tasks.at(-1);
  assert.equal(ae.name, 'ae');
  assert.deepEqual(ae.commands.map((c) => workerArgv(c, VARS)), [['/farm/venv/bin/dreamrooms', 'ae', SHOT]]);
  assert.deepEqual(ae.dependencies.map((d) => d.name), renders(job).map((t) => t.name));
  assert.equal(renders(job).length, 5);
  for (const r of renders(job)) assert.deepEqual(r.dependencies, []);
});

test('chunks cover the range exactly once, in order, each at most chunk_size frames', () => {
  for (const [a, b] of [[1, 1], [1, 10], [0, 99], [-5, 7], [1001, 1048], [12, 13]]) {
    for (const size of [1, 2, 3, 4, 7, 48, 200]) {
      const frames = [];
      const got = chunks(compile({ ...BASE, frames: `${a}-${b}`, chunk_size: size }));
      for (const c of got) {
        const m = /^(-?\d+)-(-?\d+)$/.exec(c);
        assert.ok(m, `chunk ${c} is A-B`);
        const [lo, hi] = [Number(m[1]), Number(m[2])];
        assert.ok(hi >= lo && hi - lo + 1 <= size, `${a}-${b}/${size}: chunk ${c}`);
        for (let f = lo; f <= hi; f++) frames.push(f);
      }
      const want = Array.from({ length: b - a + 1 }, (_, i) => a + i);
      assert.deepEqual(frames, want, `${a}-${b} in chunks of ${size}: ${got}`);
      assert.equal(got.length, Math.ceil(want.length / size), `${a}-${b}/${size}: as few tasks as possible`);
    }
  }
});

test('edge ranges: one frame, Blender notation, a chunk larger than the range, an exact multiple', () => {
  assert.deepEqual(chunks(compile({ ...BASE, frames: '5' })), ['5-5']);
  assert.deepEqual(chunks(compile({ ...BASE, frames: '1..8', chunk_size: 4 })), ['1-4', '5-8']);
  assert.deepEqual(chunks(compile({ ...BASE, frames: ' 3 - 9 ', chunk_size: 50 })), ['3-9']);
  assert.deepEqual(chunks(compile({ ...BASE, frames: '1-12', chunk_size: 4 })), ['1-4', '5-8', '9-12']);
});

test('settings the Manager did not receive take the job type defaults', () => {
  const job = compile({ shot: SHOT, frames: '1-20' }); // the Manager passes only what was submitted
  const defaults = Object.fromEntries(jobType.jobType.settings.map((s) => [s.key, s.default]));
  assert.equal(renders(job).length, Math.ceil(20 / defaults.chunk_size));
  const argv = workerArgv(renders(job)[0].commands[0], VARS);
  const expr = argv[argv.indexOf('--python-expr') + 1];
  assert.match(expr, new RegExp(`^samples = ${defaults.samples}$`, 'm'));
  assert.match(expr, new RegExp(`^device = '${defaults.device}'$`, 'm'));
  assert.equal(argv[argv.indexOf('-P') + 1], VARS.dreamrooms_headless); // {dreamrooms_headless} expanded
  assert.deepEqual(workerArgv(job.tasks.at(-1).commands[0], VARS)[0], VARS.dreamrooms);
});

test('a given blendfile is opened instead of SHOT/room.blend; paths join the way Flamenco joins them', () => {
  const given = compile({ ...BASE, blendfile: '/farm/jobs/x/room.flamenco.blend' });
  assert.equal(workerArgv(renders(given)[0].commands[0], VARS)[3], '/farm/jobs/x/room.flamenco.blend');
  const windows = compile({ ...BASE, shot: 'S:\\shots\\sh010' });
  assert.equal(workerArgv(renders(windows)[0].commands[0], VARS)[3], 'S:/shots/sh010/room.blend');
});

test('samples and device reach the setup expression; it holds no {braces} for the Manager to expand', () => {
  const job = compile({ ...BASE, samples: 0, device: 'OPTIX' });
  const expr = renders(job)[0].commands[0].parameters.args[3];
  assert.match(expr, /^samples = 0$/m);
  assert.match(expr, /^device = 'OPTIX'$/m);
  assert.ok(!/[{}]/.test(expr), 'no braces');
  assert.equal(workerArgv(renders(job)[0].commands[0], { ...VARS, device: 'X', samples: 'Y' })[7], expr);
});

test('after_effects false: render tasks only', () => {
  const job = compile({ ...BASE, after_effects: false });
  assert.deepEqual(job.tasks.map((t) => t.name), ['render-1-4', 'render-5-8', 'render-9-10']);
});

test('bad settings fail the compile with one clear message', () => {
  const bad = [
    [{ chunk_size: 0 }, /chunk_size 0: .*1 or more/],
    [{ chunk_size: -3 }, /chunk_size -3/],
    [{ chunk_size: 2.5 }, /chunk_size 2\.5: .*whole number/],
    [{ chunk_size: 'four' }, /chunk_size "four"/],
    [{ frames: '' }, /"frames" setting is required/],
    [{ frames: '10-1' }, /frames "10-1": the last frame is before the first/],
    [{ frames: '1-10,20-30' }, /frames "1-10,20-30": write one range A-B/],
    [{ frames: 'all' }, /frames "all"/],
    [{ shot: '  ' }, /"shot" setting is required/],
    [{ samples: -1 }, /samples -1: .*0 or more/],
    [{ device: 'VULKAN' }, /device "VULKAN": choose one of CPU, CUDA, OPTIX, HIP, ONEAPI, METAL/],
  ];
  for (const [change, message] of bad) {
    assert.throws(() => compile({ ...BASE, ...change }), (err) => {
      assert.match(err.message, /^dreamrooms job: /);
      assert.match(err.message, message);
      return true;
    }, JSON.stringify(change));
  }
});

test('the model keeps what addTask copied: a dependency added after addTask is lost, as in Flamenco', () => {
  // [author] AuthoredJob.AddTask appends a copy of the task; this is why dreamrooms.js adds the AE
  // task's dependencies before job.addTask. A script doing it the other way round would lose them.
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flamenco-model-'));
  const late = path.join(dir, 'late_deps.js');
  fs.writeFileSync(late, `const JOB_TYPE = { label: "late", settings: [] };
function compileJob(job) {
  const a = author.Task("a", "misc"); job.addTask(a);
  const b = author.Task("b", "misc"); job.addTask(b); b.addDependency(a);
}`);
  const job = loadJobType(late).compile({});
  assert.equal(loadJobType(late).name, 'late-deps');
  assert.deepEqual(job.tasks.map((t) => t.dependencies.length), [0, 0]);
  fs.rmSync(dir, { recursive: true });
});
