//@target aftereffects
/*
 * dreamrooms.jsx: the After Effects half of dreamrooms (ExtendScript, ES3 only).
 *
 * `dreamrooms ae SHOT` writes SHOT/ae/shot.jsx, which includes a copy of this file and calls
 * dreamrooms.run(DATA, $.fileName) with one JSON data literal.  The data never becomes code.
 * The script builds, inside one undo group: a project folder with one footage item per sequence
 * (image sequences, conformed to the shot's fps, explicit alpha mode), a comp at the shot's size,
 * pixel aspect, fps and duration, a 3D camera keyed from the shot's camera track, Camera Lens Blur
 * and Displacement Map driven by the normalised depth sequence, and optional grain and dust.
 * On any error everything it created is removed again and one alert explains what went wrong.
 *
 * Options (data.options, overridden by $.global.dreamroomsOptions, which the panel sets):
 *   linear32, camera, depth_blur, displacement, grain, dust (booleans).
 */

/**
 * @typedef {{times: number[], values: any[]}} DrAnim
 *   One property's animation: a single entry is set as a static value, more become keyframes.
 * @typedef {{id: string, name: string, role: string, path: string[], last_path: string[],
 *   alpha: string, frame_count: number}} DrFootage
 *   One image sequence; `path`/`last_path` are the first/last frame file, as path segments
 *   relative to the folder of the running shot.jsx.
 * @typedef {{name: string, position: DrAnim, orientation: DrAnim, zoom: DrAnim,
 *   focus_distance: DrAnim | null}} DrCamera
 * @typedef {{map: string, target: string, radius: number, focus: DrAnim | null}} DrDepthBlur
 * @typedef {{map: string, target: string, max_horizontal: DrAnim, max_vertical: DrAnim}} DrDisplacement
 * @typedef {{linear32: boolean, camera: boolean, depth_blur: boolean, displacement: boolean,
 *   grain: boolean, dust: boolean}} DrOptions
 * @typedef {{name: string, width: number, height: number, pixel_aspect: number, fps: number,
 *   frame_count: number, first_frame: number}} DrComp
 * @typedef {{near: number, far: number, white: string, formula: string}} DrDepthMapping
 *   How depth became the 0..1 map (for people reading the data; the script does not use it).
 * @typedef {{format: string, version: number, generator: string, min_ae_version: number,
 *   shot_name: string, comp: DrComp, footage: DrFootage[], camera: DrCamera | null,
 *   depth_blur: DrDepthBlur | null, displacement: DrDisplacement | null,
 *   depth_mapping: DrDepthMapping | null, options: DrOptions}} DrShotData
 */

var dreamrooms = (function () {
    var FORMAT = "dreamrooms-ae-shot";
    var FORMAT_VERSION = 1;
    var UNDO_NAME = "dreamrooms: import shot";

    /**
     * Text of any thrown value.
     * @param {any} e
     * @returns {string}
     */
    function errorText(e) {
        if (e && typeof e === "object" && e.message !== undefined) {
            return String(e.message);
        }
        return String(e);
    }

    /**
     * @param {string} msg
     * @returns {Error}
     */
    function fail(msg) {
        return new Error(msg);
    }

    // ---- files ------------------------------------------------------------------------------

    /**
     * File for a path given as it comes from $.fileName.  ExtendScript treats %XX in a path as
     * an escape, so when the plain path does not exist, the segments are encoded and tried again.
     * @param {string} name
     * @returns {File}
     */
    function resolveScriptFile(name) {
        var plain = new File(name);
        if (plain.exists) {
            return plain;
        }
        var parts = name.split("/");
        var out = [];
        for (var i = 0; i < parts.length; i++) {
            var p = parts[i];
            if (p === "" || p === "~" || (i <= 1 && p.charAt(p.length - 1) === ":")) {
                out.push(p);
            } else {
                out.push(File.encode(p));
            }
        }
        var encoded = new File(out.join("/"));
        return encoded.exists ? encoded : plain;
    }

    /**
     * The file at `segments` below `folder`, each segment URI-encoded so that no character in a
     * file name (%, \, quotes, non-ASCII) is ever interpreted by File().
     * @param {Folder} folder
     * @param {string[]} segments
     * @returns {File}
     */
    function childFile(folder, segments) {
        var uri = folder.absoluteURI;
        while (uri.length > 1 && uri.charAt(uri.length - 1) === "/") {
            uri = uri.substring(0, uri.length - 1);
        }
        for (var i = 0; i < segments.length; i++) {
            uri += "/" + File.encode(segments[i]);
        }
        return new File(uri);
    }

    // ---- data checks --------------------------------------------------------------------------

    /**
     * @param {any} data
     */
    function checkData(data) {
        if (!data || typeof data !== "object" || data.format !== FORMAT) {
            throw fail("this is not a dreamrooms shot script (no '" + FORMAT + "' data); regenerate it with `dreamrooms ae SHOT`");
        }
        if (data.version !== FORMAT_VERSION) {
            throw fail("shot data version " + data.version + " is not supported by this dreamrooms.jsx (reads " +
                FORMAT_VERSION + "); regenerate with `dreamrooms ae SHOT` so the library copy matches");
        }
    }

    /**
     * @param {number} minVersion
     */
    function checkVersion(minVersion) {
        var have = parseFloat(app.version);
        if (isNaN(have) || have < minVersion) {
            throw fail("this shot needs After Effects " + minVersion + " or newer; this is After Effects " + app.version +
                ". Regenerate with `dreamrooms ae SHOT --ae-version " + (isNaN(have) ? minVersion : have) + "` to try anyway.");
        }
    }

    /**
     * Merged options: data defaults, then the panel's overrides.
     * @param {DrOptions} base
     * @param {any} override
     * @returns {DrOptions}
     */
    function mergeOptions(base, override) {
        /** @type {DrOptions} */
        var o = {
            linear32: !!base.linear32, camera: !!base.camera, depth_blur: !!base.depth_blur,
            displacement: !!base.displacement, grain: !!base.grain, dust: !!base.dust
        };
        if (override && typeof override === "object") {
            var keys = ["linear32", "camera", "depth_blur", "displacement", "grain", "dust"];
            for (var i = 0; i < keys.length; i++) {
                if (override[keys[i]] !== undefined) {
                    /** @type {any} */ (o)[keys[i]] = !!override[keys[i]];
                }
            }
        }
        return o;
    }

    /**
     * @param {DrFootage[]} footage
     * @param {string} id
     * @returns {DrFootage | null}
     */
    function findFootage(footage, id) {
        for (var i = 0; i < footage.length; i++) {
            if (footage[i].id === id) {
                return footage[i];
            }
        }
        return null;
    }

    // ---- properties ---------------------------------------------------------------------------

    /**
     * A property group below `parent`, by matchName or display name, or a clear error.
     * @param {PropertyBase} parent
     * @param {string} name
     * @param {string} what
     * @returns {PropertyGroup}
     */
    function group(parent, name, what) {
        var p = parent.property(name);
        if (!p) {
            throw fail(what + ": property group '" + name + "' not found on '" + parent.name + "'");
        }
        return /** @type {PropertyGroup} */ (p);
    }

    /**
     * A property below `parent`, by matchName or display name, or a clear error.
     * @param {PropertyBase} parent
     * @param {string} name
     * @param {string} what
     * @returns {Property}
     */
    function prop(parent, name, what) {
        var p = parent.property(name);
        if (!p) {
            throw fail(what + ": parameter '" + name + "' not found on '" + parent.name +
                "' (parameters not confirmed by matchName are looked up by their English display name; " +
                "is After Effects running in another language, or is this effect version different?)");
        }
        return /** @type {Property} */ (p);
    }

    /**
     * Set a static value (one entry) or keyframes with linear interpolation (several entries).
     * @param {Property} p
     * @param {DrAnim} anim
     */
    function animate(p, anim) {
        if (!anim || !anim.times || anim.times.length === 0) {
            return;
        }
        if (anim.times.length !== anim.values.length) {
            throw fail("'" + p.name + "': " + anim.times.length + " times but " + anim.values.length + " values in the shot data");
        }
        if (anim.times.length === 1) {
            p.setValue(anim.values[0]);
            return;
        }
        p.setValuesAtTimes(anim.times, anim.values);
        for (var k = 1; k <= p.numKeys; k++) {
            p.setInterpolationTypeAtKey(k, KeyframeInterpolationType.LINEAR, KeyframeInterpolationType.LINEAR);
            if (p.isSpatial) {
                p.setSpatialAutoBezierAtKey(k, false);
                p.setSpatialContinuousAtKey(k, false);
                p.setSpatialTangentsAtKey(k, [0, 0, 0], [0, 0, 0]);
            }
        }
    }

    /**
     * matchName of an installed effect: `matchName` itself when installed, else by display name.
     * @param {string} matchName
     * @param {string[]} displayNames
     * @returns {string}
     */
    function effectMatchName(matchName, displayNames) {
        var fx = app.effects;
        var i;
        for (i = 0; i < fx.length; i++) {
            if (fx[i].matchName === matchName) {
                return matchName;
            }
        }
        for (var j = 0; j < displayNames.length; j++) {
            for (i = 0; i < fx.length; i++) {
                if (fx[i].displayName === displayNames[j]) {
                    return fx[i].matchName;
                }
            }
        }
        throw fail("effect '" + displayNames[0] + "' (" + matchName + ") is not installed in this After Effects");
    }

    /**
     * Add an effect to a layer's effect stack or fail clearly.
     * @param {Layer} layer
     * @param {string} matchName
     * @returns {PropertyGroup}
     */
    function addEffect(layer, matchName) {
        var parade = group(layer, "ADBE Effect Parade", "effects");
        if (!parade.canAddProperty(matchName)) {
            throw fail("cannot add effect '" + matchName + "' to layer '" + layer.name + "' (is the effect installed?)");
        }
        return /** @type {PropertyGroup} */ (parade.addProperty(matchName));
    }

    // ---- building -----------------------------------------------------------------------------

    /**
     * Project settings that `linear32` changes, to restore them if the build fails.
     * @returns {{bpc: number, linear: boolean}}
     */
    function saveProjectSettings() {
        return { bpc: app.project.bitsPerChannel, linear: app.project.linearBlending };
    }

    /**
     * @param {{bpc: number, linear: boolean}} saved
     */
    function restoreProjectSettings(saved) {
        try {
            app.project.bitsPerChannel = saved.bpc;
            app.project.linearBlending = saved.linear;
        } catch (e) {
            // best effort: the alert about the real error follows
        }
    }

    /**
     * Remove what a failed build created (newest first).
     * @param {Item[]} created
     */
    function removeCreated(created) {
        for (var i = created.length - 1; i >= 0; i--) {
            try {
                created[i].remove();
            } catch (e) {
                // already gone (for example a solid removed with its folder)
            }
        }
    }

    /**
     * Ids of the project's folders (AE makes a "Solids" folder with the first solid).
     * @returns {{[id: string]: boolean}}
     */
    function folderIds() {
        /** @type {{[id: string]: boolean}} */
        var ids = {};
        for (var i = 1; i <= app.project.numItems; i++) {
            var it = app.project.item(i);
            if (it instanceof FolderItem) {
                ids[String(it.id)] = true;
            }
        }
        return ids;
    }

    /**
     * Remember a solid layer's source item, and its folder when AE made that folder just now.
     * @param {AVLayer} layer
     * @param {Item[]} created
     * @param {{[id: string]: boolean}} foldersBefore
     */
    function trackSolid(layer, created, foldersBefore) {
        /** @type {Item} */
        var src = layer.source;
        var folder = src.parentFolder;
        if (folder && folder !== app.project.rootFolder && !foldersBefore[String(folder.id)]) {
            foldersBefore[String(folder.id)] = true;
            created.push(folder);
        }
        created.push(src);
    }

    /**
     * @param {string} mode
     * @returns {AlphaMode}
     */
    function alphaMode(mode) {
        if (mode === "straight") {
            return AlphaMode.STRAIGHT;
        }
        if (mode === "ignore") {
            return AlphaMode.IGNORE;
        }
        return AlphaMode.PREMULTIPLIED;
    }

    /**
     * Import one image sequence.
     * @param {File} file first frame
     * @param {DrFootage} fd
     * @param {number} fps
     * @returns {FootageItem}
     */
    function importSequence(file, fd, fps) {
        var io = new ImportOptions(file);
        if (!io.canImportAs(ImportAsType.FOOTAGE)) {
            throw fail("After Effects cannot import '" + file.fsName + "' as footage (is the OpenEXR importer available?)");
        }
        io.importAs = ImportAsType.FOOTAGE;
        io.sequence = true;
        io.forceAlphabetical = false;
        var item = app.project.importFile(io);
        if (!(item instanceof FootageItem)) {
            throw fail("importing '" + file.fsName + "' did not give a footage item");
        }
        item.name = fd.name;
        item.mainSource.conformFrameRate = fps;
        if (item.mainSource.hasAlpha) {
            item.mainSource.alphaMode = alphaMode(fd.alpha);
        }
        return item;
    }

    /**
     * Build everything from checked data; throws on error (callers clean up).
     * @param {DrShotData} data
     * @param {Folder} base folder of the running shot.jsx
     * @param {DrOptions} opts
     * @param {Item[]} created filled with every item made, for cleanup
     * @returns {CompItem}
     */
    function buildInto(data, base, opts, created) {
        var c = data.comp;
        var proj = app.project;
        var foldersBefore = folderIds();
        if (opts.linear32) {
            proj.bitsPerChannel = 32;
            proj.linearBlending = true;
        }
        var folder = proj.items.addFolder(data.shot_name);
        created.push(folder);

        /** @type {{[id: string]: FootageItem}} */
        var items = {};
        var i;
        for (i = 0; i < data.footage.length; i++) {
            var fd = data.footage[i];
            var item = importSequence(childFile(base, fd.path), fd, c.fps);
            created.push(item);
            item.parentFolder = folder;
            items[fd.id] = item;
        }

        var duration = c.frame_count / c.fps;
        var comp = proj.items.addComp(c.name, c.width, c.height, c.pixel_aspect, duration, c.fps);
        created.push(comp);
        comp.parentFolder = folder;
        comp.displayStartFrame = c.first_frame;

        // Layers are added bottom-up: layers.add puts the new layer on top.
        /** @type {{[id: string]: AVLayer}} */
        var layers = {};
        for (i = data.footage.length - 1; i >= 0; i--) {
            var f = data.footage[i];
            var layer = comp.layers.add(items[f.id]);
            layer.name = f.name;
            if (f.role !== "beauty") {
                layer.enabled = false; // maps and mattes feed effects; they are not seen themselves
            }
            layers[f.id] = layer;
        }

        if (opts.displacement && data.displacement) {
            var dm = data.displacement;
            var dTarget = layers[dm.target];
            var dMap = layers[dm.map];
            if (!dTarget || !dMap) {
                throw fail("displacement: layer '" + (dTarget === undefined ? dm.target : dm.map) + "' is not in the shot data");
            }
            var disp = addEffect(dTarget, "ADBE Displacement Map");
            prop(disp, "ADBE Displacement Map-0001", "Displacement Map").setValue(dMap.index);
            prop(disp, "ADBE Displacement Map-0002", "Displacement Map").setValue(5);
            prop(disp, "ADBE Displacement Map-0004", "Displacement Map").setValue(5);
            animate(prop(disp, "ADBE Displacement Map-0003", "Displacement Map"), dm.max_horizontal);
            animate(prop(disp, "ADBE Displacement Map-0005", "Displacement Map"), dm.max_vertical);
        }

        if (opts.depth_blur && data.depth_blur) {
            var db = data.depth_blur;
            var bTarget = layers[db.target];
            var bMap = layers[db.map];
            if (!bTarget || !bMap) {
                throw fail("depth blur: layer '" + (bTarget === undefined ? db.target : db.map) + "' is not in the shot data");
            }
            var blur = addEffect(bTarget, "ADBE Camera Lens Blur");
            prop(blur, "ADBE Camera Lens Blur-0001", "Camera Lens Blur").setValue(db.radius);
            prop(blur, "ADBE Camera Lens Blur-0010", "Camera Lens Blur").setValue(bMap.index);
            if (db.focus) {
                animate(prop(blur, "Blur Focal Distance", "Camera Lens Blur"), db.focus);
            }
        }

        if (opts.grain) {
            var grainLayer = comp.layers.addSolid([0.5, 0.5, 0.5], "Grain", c.width, c.height, c.pixel_aspect, duration);
            trackSolid(grainLayer, created, foldersBefore);
            grainLayer.adjustmentLayer = true;
            addEffect(grainLayer, effectMatchName("VISINF Grain Implant", ["Add Grain"]));
        }

        if (opts.dust) {
            var dust = comp.layers.addSolid([0, 0, 0], "Dust", c.width, c.height, c.pixel_aspect, duration);
            trackSolid(dust, created, foldersBefore);
            dust.blendingMode = BlendingMode.SCREEN;
            var noise = addEffect(dust, effectMatchName("ADBE Fractal Noise", ["Fractal Noise"]));
            prop(noise, "Contrast", "Fractal Noise").setValue(400);
            prop(noise, "Brightness", "Fractal Noise").setValue(-150);
            prop(group(dust, "ADBE Transform Group", "dust"), "ADBE Opacity", "dust").setValue(35);
        }

        if (opts.camera && data.camera) {
            var cd = data.camera;
            var cam = comp.layers.addCamera(cd.name, [c.width / 2, c.height / 2]);
            cam.autoOrient = AutoOrientType.NO_AUTO_ORIENT;
            var tr = group(cam, "ADBE Transform Group", "camera");
            animate(prop(tr, "ADBE Position", "camera"), cd.position);
            animate(prop(tr, "ADBE Orientation", "camera"), cd.orientation);
            var co = group(cam, "ADBE Camera Options Group", "camera");
            animate(prop(co, "ADBE Camera Zoom", "camera"), cd.zoom);
            if (cd.focus_distance) {
                animate(prop(co, "ADBE Camera Focus Distance", "camera"), cd.focus_distance);
            }
        }
        return comp;
    }

    /**
     * Check data and files, then build inside one undo group; on error remove everything made.
     * Throws an Error with a user-facing message.
     * @param {DrShotData} data
     * @param {string | File} script the running shot.jsx ($.fileName) or its File
     * @param {any} [override] options overriding data.options
     * @returns {CompItem}
     */
    function build(data, script, override) {
        checkData(data);
        checkVersion(data.min_ae_version);
        var opts = mergeOptions(data.options, override);
        var scriptFile = typeof script === "string" ? resolveScriptFile(script) : script;
        var base = scriptFile.parent;
        var missing = [];
        for (var i = 0; i < data.footage.length; i++) {
            var fd = data.footage[i];
            var first = childFile(base, fd.path);
            var last = childFile(base, fd.last_path);
            if (!first.exists) {
                missing.push(first.fsName);
            } else if (!last.exists) {
                missing.push(last.fsName + " (sequence '" + fd.name + "' is incomplete)");
            }
        }
        if (missing.length) {
            throw fail("missing file" + (missing.length > 1 ? "s" : "") + ":\n" + missing.join("\n") +
                "\nKeep shot.jsx in its folder next to the sequences, or rerun `dreamrooms ae SHOT`.");
        }
        if (findFootage(data.footage, "beauty") === null) {
            throw fail("the shot data has no beauty sequence; rerun `dreamrooms ae SHOT`");
        }

        /** @type {Item[]} */
        var created = [];
        var saved = saveProjectSettings();
        app.beginUndoGroup(UNDO_NAME);
        try {
            return buildInto(data, base, opts, created);
        } catch (e) {
            removeCreated(created);
            restoreProjectSettings(saved);
            throw fail(errorText(e));
        } finally {
            app.endUndoGroup();
        }
    }

    /**
     * Entry point of generated shot scripts: build, and alert instead of throwing.
     * Options from $.global.dreamroomsOptions (set by the panel) override data.options once.
     * @param {DrShotData} data
     * @param {string | File} script
     * @returns {CompItem | null}
     */
    function run(data, script) {
        var override = $.global.dreamroomsOptions;
        $.global.dreamroomsOptions = undefined;
        if (override && override.script instanceof File) {
            script = override.script; // the panel knows which file it ran
        }
        try {
            var comp = build(data, script, override);
            comp.openInViewer();
            return comp;
        } catch (e) {
            alert("dreamrooms could not import the shot:\n" + errorText(e), "dreamrooms", true);
            return null;
        }
    }

    return {
        FORMAT: FORMAT,
        FORMAT_VERSION: FORMAT_VERSION,
        build: build,
        run: run,
        resolveScriptFile: resolveScriptFile,
        childFile: childFile
    };
})();
