//@target aftereffects
//@include "dreamrooms.jsx"
/*
 * Dreamrooms Panel.jsx: a dockable ScriptUI panel that imports a dreamrooms shot.
 *
 * Install: copy this file and dreamrooms.jsx into After Effects' "Scripts/ScriptUI Panels" folder,
 * restart After Effects, open Window > Dreamrooms Panel.jsx.  (File > Scripts > Run Script File
 * opens it as a floating palette instead.)  Pick a shot folder (the folder with shot.json, or its
 * ae/ folder) or a generated shot.jsx, set the options and press Import.  The shot's own shot.jsx
 * runs with the options below overriding its defaults.
 */

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
    var fileButton = pick.add("button", undefined, "shot.jsx...");

    var opts = win.add("panel", undefined, "Options");
    opts.orientation = "column";
    opts.alignChildren = ["left", "top"];
    var linear32 = opts.add("checkbox", undefined, "32 bpc linear project");
    var camera = opts.add("checkbox", undefined, "3D camera");
    var depthBlur = opts.add("checkbox", undefined, "Depth blur (Camera Lens Blur)");
    var displacement = opts.add("checkbox", undefined, "Displacement (Displacement Map)");
    var grain = opts.add("checkbox", undefined, "Grain");
    var dust = opts.add("checkbox", undefined, "Dust");
    linear32.value = true;
    camera.value = true;
    depthBlur.value = true;
    displacement.value = true;
    grain.value = false;
    dust.value = false;

    var importButton = win.add("button", undefined, "Import");

    /** @type {File | null} */
    var chosen = null;

    /**
     * @param {File | null} f
     */
    function choose(f) {
        chosen = f;
        shotText.text = f ? File.decode(f.name) + "  (" + f.parent.fsName + ")" : "No shot chosen";
    }

    /**
     * The shot.jsx of a shot folder (FOLDER/ae/shot.jsx) or of an ae folder (FOLDER/shot.jsx).
     * @param {Folder} folder
     * @returns {File | null}
     */
    function scriptInFolder(folder) {
        var inAe = dreamrooms.childFile(folder, ["ae", "shot.jsx"]);
        if (inAe.exists) {
            return inAe;
        }
        var here = dreamrooms.childFile(folder, ["shot.jsx"]);
        return here.exists ? here : null;
    }

    folderButton.onClick = function () {
        var folder = Folder.selectDialog("Choose a dreamrooms shot folder (with shot.json) or its ae folder");
        if (!folder) {
            return;
        }
        var f = scriptInFolder(folder);
        if (!f) {
            alert("No shot.jsx in " + folder.fsName + " or its ae folder.\nRun `dreamrooms ae SHOT` first.", "dreamrooms", true);
            return;
        }
        choose(f);
    };

    fileButton.onClick = function () {
        var picked = File.openDialog("Choose a dreamrooms shot.jsx", "*.jsx", false);
        if (picked && picked instanceof File) {
            choose(picked);
        }
    };

    importButton.onClick = function () {
        if (!chosen || !chosen.exists) {
            alert(chosen ? "The shot script is gone: " + chosen.fsName : "Choose a shot folder or shot.jsx first.", "dreamrooms", true);
            return;
        }
        $.global.dreamroomsOptions = {
            linear32: linear32.value,
            camera: camera.value,
            depth_blur: depthBlur.value,
            displacement: displacement.value,
            grain: grain.value,
            dust: dust.value,
            script: chosen
        };
        try {
            $.evalFile(chosen);
        } catch (e) {
            $.global.dreamroomsOptions = undefined;
            alert("dreamrooms could not run " + chosen.fsName + ":\n" + String(e), "dreamrooms", true);
        }
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
