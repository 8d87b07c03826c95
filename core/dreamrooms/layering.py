"""The one order of the package's parts: a part may import only parts of a lower rank (and itself).

The first two ranks are plumbing every part may use; `shot` is the contract every stage shares; `camera`,
`models`, `preview`, the stage spine (`stage`) and the exporter contract (`export`) know shots, not stages; the
stages (and the room options beside them) come next in the order they feed each other; exporters, the cluster,
training and the reveal prediction use them; a film (`film`) makes shots with all of them through the command line
it is handed; `commands` (the CLI) sits on top.  A constant a lower part needs
lives in the lower part (e.g. `shot.manifest.SENSOR_FITS`, `models.video_plan.VideoPlan`).
`tests/core/test_layering.py` reads this table and fails on an import that goes up or sideways.
"""

RANKS: tuple[tuple[str, ...], ...] = (
    ("errors", "oserrors", "atomic", "progress", "colour", "worker", "layering", "memo"),
    ("limits", "easing"),
    ("shot",),
    ("camera", "models", "preview", "stage", "export"),
    ("depth", "walk", "room_options", "text"),
    ("mask",),
    ("layers",),
    ("ae", "cluster", "training", "reveal"),
    ("film",),
    ("commands",),
    ("__main__",),
)


def rank_of(part: str) -> int:
    """The rank of a top-level part (a subpackage or module of `dreamrooms`); KeyError names an unranked one."""
    for rank, parts in enumerate(RANKS):
        if part in parts:
            return rank
    raise KeyError(f"dreamrooms.{part} has no rank in dreamrooms.layering.RANKS; add it there")
