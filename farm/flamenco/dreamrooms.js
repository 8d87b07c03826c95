// dreamrooms job type for Flamenco 3: render a shot's room.blend in chunks, then run `dreamrooms ae`.
//
// Install: copy this file into the `scripts` folder next to the flamenco-manager executable and
// restart the Manager (farm/flamenco/README.md). The job type is named after the file: `dreamrooms`.
// Checked in node against a model of Flamenco's job-compiler API (tests/farm); it has not run on a
// real Flamenco Manager.
//
// Each render task runs the dreamrooms headless entry on the workers:
//   {blender} {blenderArgs} BLEND --python-exit-code 1 --python-expr SETUP -P HEADLESS -- render SHOT --frames A-B
// SETUP is a short Python expression that sets the samples and the Cycles device before the render
// (the headless `render` command renders the scene as saved). The render is resumable: whole frames
// already in SHOT/render are skipped, so a requeued task only renders what is missing.
// The last task, `ae`, depends on every render task and runs `dreamrooms ae SHOT`.

// Cycles compute device types (CyclesPreferences.compute_device_type), plus CPU.
const DEVICES = ["CPU", "CUDA", "OPTIX", "HIP", "ONEAPI", "METAL"];

const JOB_TYPE = {
  label: "dreamrooms: render shot + After Effects",
  description: "Render SHOT/room.blend into SHOT/render in chunks of frames, then write the After Effects script",
  settings: [
    { key: "shot", type: "string", subtype: "dir_path", required: true,
      eval: "str(Path(bpy.data.filepath).parent)",
      evalInfo: { showLinkButton: true, description: "Folder of the open room.blend" },
      description: "Shot folder (with shot.json), on storage every worker sees" },
    { key: "frames", type: "string", required: true,
      eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
      evalInfo: { showLinkButton: true, description: "Scene frame range" },
      description: "Frames to render, one range A-B (e.g. 1-48)" },
    { key: "chunk_size", type: "int32", default: 8, propargs: { min: 1 }, visible: "submission",
      description: "Frames per render task" },
    { key: "samples", type: "int32", default: 0, propargs: { min: 0 },
      description: "Samples per pixel; 0 keeps the samples saved in room.blend" },
    { key: "device", type: "string", default: "CPU",
      choices: DEVICES,
      description: "Cycles device on the workers; a GPU type uses every device of that type" },
    { key: "headless", type: "string", default: "{dreamrooms_headless}",
      description: "blender_addon/headless.py as the workers see it (a Manager variable by default)" },
    { key: "dreamrooms", type: "string", default: "{dreamrooms}",
      description: "The dreamrooms command on the workers, for the After Effects step" },
    { key: "after_effects", type: "bool", default: true,
      description: "Run `dreamrooms ae SHOT` once every frame is rendered" },
    // Set by Flamenco's Blender add-on to the submitted (possibly copied) blend file; empty: SHOT/room.blend.
    { key: "blendfile", type: "string", visible: "web",
      description: "The .blend the workers open (default SHOT/room.blend)" },
  ],
};

function compileJob(job) {
  const s = readSettings(job.settings || {});
  const renders = [];
  for (const chunk of chunkRange(s.first, s.last, s.chunk_size)) {
    const first = chunk[0], last = chunk[1];
    const task = author.Task(`render-${first}-${last}`, "blender");
    task.addCommand(author.Command("blender-render", {
      exe: "{blender}",
      exeArgs: "{blenderArgs}",
      argsBefore: [],
      blendfile: s.blendfile,
      args: [
        "--python-exit-code", "1",
        "--python-expr", renderSetup(s.samples, s.device),
        "-P", s.headless,
        "--", "render", s.shot, "--frames", `${first}-${last}`,
      ],
    }, last - first + 1)); // one step per frame: the worker counts Blender's "Time:" lines
    renders.push(task);
    job.addTask(task);
  }
  if (s.after_effects) {
    const ae = author.Task("ae", "misc");
    ae.addCommand(author.Command("exec", { exe: s.dreamrooms, args: ["ae", s.shot] }));
    // addTask stores a copy of the task: its dependencies must be in place before.
    for (const r of renders) ae.addDependency(r);
    job.addTask(ae);
  }
}

/** Settings with the job type's defaults filled in (the Manager passes only what was submitted), checked. */
function readSettings(raw) {
  const s = {};
  for (const def of JOB_TYPE.settings) {
    const given = raw[def.key];
    s[def.key] = given === undefined || given === null || given === "" ? def.default : given;
    if (def.required && (s[def.key] === undefined || String(s[def.key]).trim() === "")) {
      fail(`the "${def.key}" setting is required (${def.description})`);
    }
  }
  s.shot = String(s.shot).trim();
  const range = parseRange(s.frames);
  s.first = range[0];
  s.last = range[1];
  const chunk = Number(s.chunk_size);
  if (!Number.isInteger(chunk) || chunk < 1) {
    fail(`chunk_size ${JSON.stringify(s.chunk_size)}: give the frames per render task as a whole number, 1 or more`);
  }
  s.chunk_size = chunk;
  const samples = Number(s.samples);
  if (!Number.isInteger(samples) || samples < 0) {
    fail(`samples ${JSON.stringify(s.samples)}: give a whole number, 0 or more (0 keeps the samples in room.blend)`);
  }
  s.samples = samples;
  if (DEVICES.indexOf(s.device) < 0) {
    fail(`device ${JSON.stringify(s.device)}: choose one of ${DEVICES.join(", ")}`);
  }
  for (const key of ["headless", "dreamrooms"]) {
    if (!s[key] || !String(s[key]).trim()) fail(`the "${key}" setting is empty`);
  }
  s.blendfile = s.blendfile ? String(s.blendfile) : path.join(s.shot, "room.blend");
  s.after_effects = s.after_effects !== false && s.after_effects !== "false";
  return s;
}

/** "A-B", "A..B" (Blender's notation) or "A" -> [A, B]; the headless entry takes one contiguous range. */
function parseRange(text) {
  const m = /^\s*(-?\d+)\s*(?:(?:-|\.\.)\s*(-?\d+)\s*)?$/.exec(String(text));
  if (!m) {
    fail(`frames ${JSON.stringify(text)}: write one range A-B, e.g. 1-48 (lists like 1-10,20-30 are not supported)`);
  }
  const first = parseInt(m[1], 10);
  const last = m[2] === undefined ? first : parseInt(m[2], 10);
  if (last < first) fail(`frames ${JSON.stringify(text)}: the last frame is before the first`);
  return [first, last];
}

/** [first, last] pairs of at most `size` frames covering first..last, in order. */
function chunkRange(first, last, size) {
  const chunks = [];
  for (let a = first; a <= last; a += size) chunks.push([a, Math.min(a + size - 1, last)]);
  return chunks;
}

/** Python run by Blender before the headless entry: samples (0: as saved) and the Cycles device.
 *  It holds no curly braces: the Manager would read {name} in a command argument as a variable. */
function renderSetup(samples, device) {
  return [
    "import bpy",
    "scene = bpy.context.scene",
    `samples = ${samples}`,
    `device = '${device}'`,
    "if samples > 0 and scene.render.engine == 'CYCLES':",
    "    scene.cycles.samples = samples",
    "elif samples > 0:",
    "    scene.eevee.taa_render_samples = samples",
    "if device == 'CPU':",
    "    scene.cycles.device = 'CPU'",
    "else:",
    "    prefs = bpy.context.preferences.addons['cycles'].preferences",
    "    kinds = [k[0] for k in prefs.get_device_types(bpy.context)]",
    "    found = prefs.get_devices_for_type(device) if device in kinds else []",
    "    found = [d for d in found if d.type == device]",
    "    if not found:",
    "        raise RuntimeError('dreamrooms: this worker has no ' + device + ' device: choose another device (or CPU) in the job settings')",
    "    prefs.compute_device_type = device",
    "    for d in prefs.devices:",
    "        d.use = d.type == device",
    "    scene.cycles.device = 'GPU'",
  ].join("\n");
}

function fail(message) {
  throw new Error(`dreamrooms job: ${message}`);
}
