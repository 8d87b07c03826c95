"""Render defaults for footage on surfaces: the frame is the material, so a camera ray that hits it is the answer.

Every dreamrooms surface is an emission of the footage (what the camera saw), lit by nothing: no lights, no
bounces, no caustics.  What a render still needs: antialiasing samples (more where depth of field or motion
blur spread a pixel over the scene), adaptive sampling to stop where a pixel has converged, the transparent
bounces layered planes need to show the layers behind, denoising only when asked, and the passes asked for
(Combined and Depth always: the After Effects export reads them).  One home for these rules; `render.py`
applies them.  Property names: Blender 5.0 Python API, `bpy.types.CyclesRenderSettings`, `SceneEEVEE`,
`RenderSettings.use_persistent_data` (https://docs.blender.org/api/5.0/bpy.types.CyclesRenderSettings.html).
"""
from __future__ import annotations

from dataclasses import dataclass

from dreamrooms.room_options import EXTRA_PASSES

# Samples per pixel when nothing blurs (antialiasing of a textured surface only: 4, as a hand-written plane
# render uses), and when depth of field or motion blur is on (the lens or shutter is sampled too; adaptive
# sampling stops converged pixels earlier).
SHARP_SAMPLES = 4
BLUR_SAMPLES = 16
ADAPTIVE_THRESHOLD = 0.02      # noise level at which a pixel stops sampling (Cycles' default is 0.01)
ADAPTIVE_MIN_SAMPLES = 4       # samples every pixel gets before the noise test
MIN_TRANSPARENT_BOUNCES = 4    # a ray passes this many transparent surfaces (layered planes need one per layer)
ALWAYS_PASSES = ("combined", "z")
PASSES = ALWAYS_PASSES + EXTRA_PASSES


@dataclass(frozen=True)
class RenderDefaults:
    samples: int
    adaptive_threshold: float
    adaptive_min_samples: int
    transparent_bounces: int
    denoise: bool
    passes: tuple[str, ...]


def samples_for(asked: int, *, dof: bool, motion_blur: bool) -> int:
    """`asked` when given (> 0), else the default for a sharp or a blurred frame."""
    if asked and asked > 0:
        return int(asked)
    return BLUR_SAMPLES if (dof or motion_blur) else SHARP_SAMPLES


def transparent_bounces(layers: int) -> int:
    """Transparent surfaces a camera ray may cross: every layer's plane plus one (the ray ends on the last)."""
    return max(MIN_TRANSPARENT_BOUNCES, int(layers) + 1)


def parse_passes(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The passes to compute: Combined and Depth, plus the extra ones named (comma-separated or a sequence;
    'all' for every extra).  Raises ValueError naming the unknown pass."""
    names = [p.strip().lower() for p in (text.split(",") if isinstance(text, str) else (text or ())) if p.strip()]
    if "all" in names:
        names = list(EXTRA_PASSES)
    aliases = {"depth": "z", "index": "object_index", "indexob": "object_index"}
    names = [aliases.get(n, n) for n in names]
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"--passes {unknown[0]!r}: choose from {', '.join(EXTRA_PASSES)} or all "
                         f"(Combined and Depth are always rendered)")
    return ALWAYS_PASSES + tuple(p for p in EXTRA_PASSES if p in names)


def defaults(*, samples: int = 0, dof: bool = False, motion_blur: bool = False, layers: int = 1,
             denoise: bool = False, passes=None) -> RenderDefaults:
    """The render settings a dreamrooms scene gets (pure: no bpy), from what the scene has and the user asked."""
    return RenderDefaults(samples=samples_for(samples, dof=dof, motion_blur=motion_blur),
                          adaptive_threshold=ADAPTIVE_THRESHOLD,
                          adaptive_min_samples=min(ADAPTIVE_MIN_SAMPLES, samples_for(samples, dof=dof, motion_blur=motion_blur)),
                          transparent_bounces=transparent_bounces(layers), denoise=bool(denoise),
                          passes=parse_passes(passes))


def apply_cycles(scene, d: RenderDefaults) -> None:
    """Camera rays only (plus transparency), adaptive sampling, denoising as asked."""
    c = scene.cycles
    c.samples = d.samples
    c.use_adaptive_sampling = d.samples > d.adaptive_min_samples
    c.adaptive_threshold = d.adaptive_threshold
    c.adaptive_min_samples = d.adaptive_min_samples
    c.max_bounces = 0                 # 0: the camera ray and direct emission only
    c.diffuse_bounces = c.glossy_bounces = c.transmission_bounces = c.volume_bounces = 0
    # independent of max_bounces in Cycles; never lowered: the layered build raises it for its folded sheets
    # (layered.cover_layers) and a user may have asked for more
    c.transparent_max_bounces = max(int(c.transparent_max_bounces), d.transparent_bounces)
    c.caustics_reflective = c.caustics_refractive = False
    c.use_denoising = d.denoise
    if hasattr(c, "use_light_tree"):
        c.use_light_tree = False      # there are no lights to sort
    scene.render.use_persistent_data = True   # keep the scene's render data between frames


def apply_eevee(scene, d: RenderDefaults) -> None:
    """EEVEE: the samples (DoF and antialiasing), nothing traced or shadowed."""
    e = scene.eevee
    e.taa_render_samples = d.samples
    for name in ("use_shadows", "use_raytracing", "use_gtao", "use_volumetric_shadows"):
        if hasattr(e, name):
            setattr(e, name, False)
