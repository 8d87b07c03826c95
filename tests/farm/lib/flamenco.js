'use strict';
// A model of Flamenco 3's job compiler and of what a Worker runs, for checking job-type scripts in
// node without a Manager. It knows only what dreamrooms.js uses; each behaviour cites its source.
//
// Sources (Flamenco, projects.blender.org/studio/flamenco, read through the GitHub mirror
// mateusabelli/flamenco at cf286e71, April 2026):
//   [author]   internal/manager/job_compilers/author.go
//   [globals]  internal/manager/job_compilers/scripts.go (newGojaVM), js_path.go, pkg/crosspath/crosspath.go
//   [compile]  internal/manager/job_compilers/job_compilers.go (Service.Compile)
//   [store]    internal/manager/persistence/jobs.go (storing task dependencies)
//   [openapi]  pkg/api/flamenco-openapi.yaml (AvailableJobSetting and its enums)
//   [varrepl]  internal/manager/api_impl/varrepl.go, internal/manager/config/variables.go (Expand)
//   [defaults] internal/manager/config/defaults.go (variables blender, blenderArgs)
//   [blender]  internal/worker/command_blender.go (argv of `blender-render`)
//   [commands] https://flamenco.blender.org/usage/jobs-tasks-commands/commands/ (`exec`: exe + args)
//   [jobtypes] https://flamenco.blender.org/usage/job-types/ (scripts/ folder, JOB_TYPE, compileJob)
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

// [openapi] AvailableJobSettingType / Subtype / Visibility enums; `key` and `type` are required.
const SETTING_TYPES = ['string', 'int32', 'float', 'bool'];
const SETTING_SUBTYPES = ['file_path', 'dir_path', 'file_name', 'hashed_file_path'];
const SETTING_VISIBILITY = ['visible', 'hidden', 'submission', 'web'];
const SETTING_FIELDS = ['key', 'type', 'subtype', 'choices', 'propargs', 'description', 'label', 'default',
  'eval', 'evalInfo', 'visible', 'required', 'editable'];

// [defaults] the Manager's default variables (Linux values).
const DEFAULT_VARIABLES = { blender: 'blender', blenderArgs: '-b -y' };

/** [globals] scripts.go filenameToJobType: the file's stem with "_" replaced by "-". */
function jobTypeName(file) {
  return path.basename(file, path.extname(file)).replaceAll('_', '-');
}

/** Check JOB_TYPE against [openapi] AvailableJobType/AvailableJobSetting; returns a list of problems. */
function checkJobType(jobType) {
  const problems = [];
  if (typeof jobType.label !== 'string' || !jobType.label) problems.push('JOB_TYPE.label is missing');
  if (!Array.isArray(jobType.settings)) return problems.concat('JOB_TYPE.settings is not an array');
  const seen = new Set();
  for (const s of jobType.settings) {
    const where = `setting ${JSON.stringify(s.key)}`;
    if (typeof s.key !== 'string' || !s.key) problems.push(`${where}: key is required`);
    if (seen.has(s.key)) problems.push(`${where}: key is not unique`); // "must be unique within the job type"
    seen.add(s.key);
    if (!SETTING_TYPES.includes(s.type)) problems.push(`${where}: type ${s.type} not in ${SETTING_TYPES}`);
    for (const field of Object.keys(s)) if (!SETTING_FIELDS.includes(field)) problems.push(`${where}: unknown field ${field}`);
    if (s.subtype !== undefined && (s.type !== 'string' || !SETTING_SUBTYPES.includes(s.subtype))) {
      problems.push(`${where}: subtype ${s.subtype} (string settings only, one of ${SETTING_SUBTYPES})`);
    }
    if (s.visible !== undefined && !SETTING_VISIBILITY.includes(s.visible)) problems.push(`${where}: visible ${s.visible}`);
    if (s.choices !== undefined && (s.type !== 'string' || !Array.isArray(s.choices))) {
      problems.push(`${where}: choices are for string settings only`); // "Only usable with string type."
    }
    if (s.choices !== undefined && s.default !== undefined && !s.choices.includes(s.default)) {
      problems.push(`${where}: default ${s.default} is not one of the choices`);
    }
    if (s.default !== undefined && !valueHasType(s.default, s.type)) problems.push(`${where}: default does not have type ${s.type}`);
    if (s.evalInfo !== undefined && (typeof s.evalInfo.showLinkButton !== 'boolean' || typeof s.evalInfo.description !== 'string')) {
      problems.push(`${where}: evalInfo needs showLinkButton and description`); // required: [showLinkButton, description]
    }
  }
  return problems;
}

function valueHasType(value, type) {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'int32': return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    case 'float': return typeof value === 'number';
    case 'bool': return typeof value === 'boolean';
    default: return false;
  }
}

let uuidCounter = 0;

/** [author] Author.Task: name and type are trimmed and required; priority 50; no commands or dependencies. */
function Task(name, type) {
  name = String(name ?? '').trim();
  type = String(type ?? '').trim();
  if (!name) throw new Error('author.Task(name, type): name is required');
  if (!type) throw new Error('author.Task(name, type): type is required');
  uuidCounter += 1;
  const task = { uuid: `task-${uuidCounter}`, name, type, priority: 50, commands: [], dependencies: [] };
  // [author] AuthoredTask.AddCommand / AddDependency append; the script sees them uncapitalised
  // ([globals] goja.UncapFieldNameMapper).
  task.addCommand = (cmd) => { task.commands.push(cmd); };
  task.addDependency = (dep) => { task.dependencies.push(dep); };
  return task;
}

/** [author] Author.Command(name, parameters, totalStepCount): a missing step count is 0 ("no steps"). */
function Command(name, parameters, totalStepCount) {
  return { name, parameters, totalStepCount: totalStepCount === undefined ? 0 : totalStepCount };
}

/** [globals] js_path.go exports crosspath.Join: Go's path.Join (joins with "/", cleans) then backslashes to "/". */
function crossJoin(...elems) {
  return path.posix.join(...elems.filter((e) => e !== '')).replaceAll('\\', '/');
}

/**
 * Load a job-type script as the Manager does ([globals] newGojaVM): globals `author`, `path` (join
 * only), `print`, `alert`; nothing else of node is visible, so a script using anything else fails here. Returns { name, jobType, compile(settings) }.
 */
function loadJobType(file) {
  const source = fs.readFileSync(file, 'utf8');
  const printed = [];
  const context = vm.createContext({
    author: Object.freeze({ Task, Command }),
    path: Object.freeze({ join: crossJoin }),
    print: (...args) => { printed.push(args.join(' ')); },
    alert: (...args) => { printed.push(args.join(' ')); },
  });
  // `const JOB_TYPE` and `function compileJob` are script-level bindings; read them back.
  const exported = vm.runInContext(`${source}\n;({ JOB_TYPE: JOB_TYPE, compileJob: typeof compileJob === 'function' ? compileJob : undefined })`,
    context, { filename: file });
  if (!exported.compileJob) throw new Error(`${file}: does not define a compileJob(job) function`); // [compile] getCompileJob
  return {
    name: jobTypeName(file),
    jobType: exported.JOB_TYPE,
    printed,
    /** [compile] the job gets the submitted settings as given (no defaults filled in) and an empty task list. */
    compile(settings, { name = 'test job', created = new Date(0) } = {}) {
      const job = { name, created, priority: 50, settings: { ...settings }, metadata: {}, tasks: [] };
      // [author] AuthoredJob.AddTask appends *at: a copy of the task as it is now. Commands or
      // dependencies added to the task afterwards are not part of the job.
      job.addTask = (task) => {
        job.tasks.push({ ...task, commands: [...task.commands], dependencies: [...task.dependencies] });
      };
      exported.compileJob(job);
      checkStorable(job.tasks);
      return job;
    },
  };
}

/** [store] every dependency must be a task of the same job, else the job cannot be stored. */
function checkStorable(tasks) {
  const uuids = new Set(tasks.map((t) => t.uuid));
  for (const t of tasks) {
    for (const dep of t.dependencies) {
      if (!uuids.has(dep.uuid)) throw new Error(`task ${t.name} depends on ${dep.name}, a task that is not part of this job`);
    }
  }
}

/** [varrepl] `{name}` is replaced in string and string-array command parameters; unknown names stay. */
function expandVariables(value, variables) {
  let out = value;
  for (const [name, v] of Object.entries(variables)) out = out.replaceAll(`{${name}}`, v);
  return out;
}

/** [blender] exeArgs goes through shlex.Split; modelled for unquoted arguments only (quotes are refused). */
function shlexSplit(text) {
  if (/["'\\]/.test(text)) throw new Error(`model: shlex quoting not modelled: ${text}`);
  return text.split(/\s+/).filter(Boolean);
}

/** The argv a Worker runs for `command` after the Manager's variable expansion ([blender], [commands]). */
function workerArgv(command, variables = {}) {
  const vars = { ...DEFAULT_VARIABLES, ...variables };
  const p = {};
  for (const [key, value] of Object.entries(command.parameters)) {
    if (typeof value === 'string') p[key] = expandVariables(value, vars);
    else if (Array.isArray(value)) p[key] = value.map((x) => (typeof x === 'string' ? expandVariables(x, vars) : x));
    else p[key] = value;
  }
  const strings = (key) => {
    const v = p[key] === undefined ? [] : p[key]; // [blender] a missing list parameter is an empty list
    if (!Array.isArray(v)) throw new Error(`${command.name}: parameter ${key} is not a list`);
    return v.map(String); // [blender] cmdParameterAsStrings formats non-strings with %v
  };
  switch (command.name) {
    case 'blender-render': {
      if (typeof p.exe !== 'string' || !p.exe) throw new Error("blender-render: missing 'exe' parameter");
      if (typeof p.blendfile !== 'string') throw new Error("blender-render: invalid 'blendfile' parameter");
      // exe, then shlex(exeArgs) + argsBefore, the blend file when not empty, then args.
      return [p.exe, ...shlexSplit(p.exeArgs || ''), ...strings('argsBefore'), ...(p.blendfile ? [p.blendfile] : []), ...strings('args')];
    }
    case 'exec':
      if (typeof p.exe !== 'string' || !p.exe) throw new Error("exec: missing 'exe' parameter");
      return [p.exe, ...strings('args')];
    default:
      throw new Error(`model: command ${command.name} is not modelled`);
  }
}

module.exports = { loadJobType, checkJobType, workerArgv, jobTypeName, crossJoin, DEFAULT_VARIABLES };
