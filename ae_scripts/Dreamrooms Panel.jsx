//@target aftereffects
//@include "dreamrooms.jsxinc"
/*
 * Dreamrooms Panel.jsx: a dockable ScriptUI panel that imports a dreamrooms shot.
 *
 * Install: copy this file, dreamrooms.jsxinc and dreamrooms_dom.jsxinc into After Effects'
 * "Scripts/ScriptUI Panels" folder, restart After Effects, open Window > Dreamrooms Panel.jsx.  (The library keeps the
 * .jsxinc extension so that After Effects does not list it as a script of its own.)  Pick a shot
 * folder (the folder with shot.json, or its ae/ folder) or its comp.json; the options start as the
 * shot was exported; press Import.
 *
 * The panel reads comp.json as data (its own JSON reader, never eval) and builds with the library
 * installed beside it: nothing from a shot folder is ever run.
 */

/**
 * JSON text to a value, without eval (ExtendScript has no JSON object).  Throws on bad JSON.
 * @param {string} text
 * @returns {any}
 */
function dreamroomsParseJSON(text) {
    var at = 0;
    var ESC = { "\"": "\"", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t" };

    /**
     * @param {string} msg
     * @returns {Error}
     */
    function bad(msg) {
        return new Error("comp.json is not valid JSON: " + msg + " at character " + at);
    }
    function white() {
        while (at < text.length && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
            at++;
        }
    }
    /**
     * @param {string} word
     * @param {any} value
     * @returns {any}
     */
    function literal(word, value) {
        if (text.substring(at, at + word.length) !== word) {
            throw bad("unexpected text");
        }
        at += word.length;
        return value;
    }
    /** @returns {number} */
    function number() {
        var m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+\-]?[0-9]+)?/.exec(text.substring(at, at + 64));
        if (!m) {
            throw bad("bad number");
        }
        at += m[0].length;
        return parseFloat(m[0]);
    }
    /** @returns {string} */
    function string() {
        var out = "";
        at++;
        while (at < text.length) {
            var ch = text.charAt(at++);
            if (ch === "\"") {
                return out;
            }
            if (ch === "\\") {
                var e = text.charAt(at++);
                if (e === "u") {
                    var hex = text.substring(at, at + 4);
                    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
                        throw bad("bad \\u escape");
                    }
                    out += String.fromCharCode(parseInt(hex, 16));
                    at += 4;
                } else if (/** @type {any} */ (ESC)[e] !== undefined) {
                    out += /** @type {any} */ (ESC)[e];
                } else {
                    throw bad("bad escape");
                }
            } else if (ch < " ") {
                throw bad("control character in a string");
            } else {
                out += ch;
            }
        }
        throw bad("unterminated string");
    }
    /** @returns {any} */
    function value() {
        white();
        var ch = text.charAt(at);
        if (ch === "{") {
            /** @type {any} */
            var obj = {};
            at++;
            white();
            if (text.charAt(at) === "}") {
                at++;
                return obj;
            }
            for (;;) {
                white();
                if (text.charAt(at) !== "\"") {
                    throw bad("expected a key");
                }
                var key = string();
                white();
                if (text.charAt(at++) !== ":") {
                    throw bad("expected ':'");
                }
                obj[key] = value();
                white();
                var sep = text.charAt(at++);
                if (sep === "}") {
                    return obj;
                }
                if (sep !== ",") {
                    throw bad("expected ',' or '}'");
                }
            }
        }
        if (ch === "[") {
            /** @type {any[]} */
            var arr = [];
            at++;
            white();
            if (text.charAt(at) === "]") {
                at++;
                return arr;
            }
            for (;;) {
                arr.push(value());
                white();
                var s2 = text.charAt(at++);
                if (s2 === "]") {
                    return arr;
                }
                if (s2 !== ",") {
                    throw bad("expected ',' or ']'");
                }
            }
        }
        if (ch === "\"") {
            return string();
        }
        if (ch === "t") {
            return literal("true", true);
        }
        if (ch === "f") {
            return literal("false", false);
        }
        if (ch === "n") {
            return literal("null", null);
        }
        return number();
    }
    var result = value();
    white();
    if (at !== text.length) {
        throw bad("trailing text");
    }
    return result;
}

/**
 * Build the panel UI into a docked Panel, or a floating palette when not docked.
 * @param {any} thisObj `this` of the script: a Panel when run from ScriptUI Panels
 * @returns {Window | Panel}
 */
function dreamroomsBuildPanel(thisObj) {
    /** @type {Window | Panel} */
    var win = (thisObj instanceof Panel) ? thisObj : new Window("palette", "Dreamrooms", undefined, { resizeable: true });
    win.orientation = "column";
    win.alignChildren = ["fill", "top"];

    var shotText = win.add("statictext", undefined, "No shot chosen", { truncate: "middle" });
    var pick = win.add("group");
    pick.orientation = "row";
    var folderButton = pick.add("button", undefined, "Shot folder...");
    var fileButton = pick.add("button", undefined, "comp.json...");

    var optPanel = win.add("panel", undefined, "Options");
    optPanel.orientation = "column";
    optPanel.alignChildren = ["left", "top"];
    var LABELS = {
        linear32: "Linear 32 bpc project (linearised working space)",
        camera: "3D camera",
        depth_blur: "Depth blur (Camera Lens Blur)",
        displacement: "Displacement (Displacement Map)",
        fog: "Depth fog",
        passes: "Render passes (off in the comp)",
        grain: "Grain",
        dust: "Dust",
        render_queue: "Add to the render queue (EXR template)",
        update: "Update the newest comp in place (off: a new version)"
    };
    /** @type {{[key: string]: Checkbox}} */
    var boxes = {};
    var keys = dreamrooms.OPTION_KEYS;
    for (var i = 0; i < keys.length; i++) {
        boxes[keys[i]] = optPanel.add("checkbox", undefined, /** @type {any} */ (LABELS)[keys[i]]);
        boxes[keys[i]].enabled = false;
    }

    var importButton = win.add("button", undefined, "Import");

    /** @type {any} */
    var chosenData = null;
    /** @type {File | null} */
    var chosenFile = null;

    /**
     * Read and parse a comp.json; alerts and returns false when it cannot.
     * @param {File} f
     * @returns {boolean}
     */
    function choose(f) {
        var text;
        f.encoding = "UTF-8";
        if (!f.open("r")) {
            alert("Cannot read " + f.fsName, "dreamrooms", true);
            return false;
        }
        try {
            text = f.read();
        } finally {
            f.close();
        }
        var data;
        try {
            data = dreamroomsParseJSON(text);
            if (!data || data.format !== dreamrooms.FORMAT) {
                throw new Error(f.fsName + " is not a dreamrooms comp description; run `dreamrooms ae SHOT`");
            }
        } catch (e) {
            alert(dreamrooms.errorText(e), "dreamrooms", true);
            return false;
        }
        chosenData = data;
        chosenFile = f;
        shotText.text = String(data.shot_name) + "  (" + f.parent.fsName + ")";
        for (var k = 0; k < keys.length; k++) {
            boxes[keys[k]].value = !!(data.options && data.options[keys[k]]);
            boxes[keys[k]].enabled = true;
        }
        return true;
    }

    folderButton.onClick = function () {
        var folder = Folder.selectDialog("Choose a dreamrooms shot folder (with shot.json) or its ae folder");
        if (!folder) {
            return;
        }
        var inAe = dreamrooms.childFile(folder, ["ae", "comp.json"]);
        var here = dreamrooms.childFile(folder, ["comp.json"]);
        var f = inAe.exists ? inAe : (here.exists ? here : null);
        if (!f) {
            alert("No comp.json in " + folder.fsName + " or its ae folder.\nRun `dreamrooms ae SHOT` first.", "dreamrooms", true);
            return;
        }
        choose(f);
    };

    fileButton.onClick = function () {
        var picked = File.openDialog("Choose a dreamrooms comp.json", "*.json", false);
        if (picked && picked instanceof File) {
            choose(picked);
        }
    };

    importButton.onClick = function () {
        if (!chosenData || !chosenFile) {
            alert("Choose a shot folder or comp.json first.", "dreamrooms", true);
            return;
        }
        /** @type {any} */
        var override = {};
        for (var k = 0; k < keys.length; k++) {
            override[keys[k]] = boxes[keys[k]].value;
        }
        try {
            var comp = dreamrooms.build(chosenData, chosenFile.parent, override);
            comp.openInViewer();
            var text = dreamrooms.report(comp);
            if (text) {
                alert(text, "dreamrooms");
            }
        } catch (e) {
            alert("dreamrooms could not import the shot:\n" + dreamrooms.errorText(e), "dreamrooms", true);
        }
    };

    /** @type {any} */
    var resizable = win;
    resizable.onResizing = resizable.onResize = function () {
        win.layout.resize();
    };

    if (win instanceof Window) {
        win.center();
        win.show();
    } else {
        win.layout.layout(true);
    }
    return win;
}

dreamroomsBuildPanel(this);
