"""The exporters: one line each.  `module` provides `export_job(job: ShotExport, settings) -> Path`; `folder` is
where it writes inside the shot by default.  A new exporter is one module plus one line here."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Exporter:
    name: str
    folder: str
    module: str
    summary: str


EXPORTERS = {e.name: e for e in (
    Exporter("ae", "ae", "dreamrooms.ae.comp", "After Effects: AE-ready sequences, comp.json and shot.jsx"),
)}


def export_function(name: str) -> Callable:
    """The `export_job` of exporter `name` (imported on first use)."""
    return importlib.import_module(EXPORTERS[name].module).export_job
