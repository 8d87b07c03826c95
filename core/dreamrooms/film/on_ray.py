"""A film's shots on a Ray cluster: one task per shot to make (each runs the stages on its node), the film
folder on storage every node mounts at the same path (checked by the shot list's hash before a task writes)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dreamrooms.cluster.plan import ClusterError, ShotNotVisible


def _list_hash(film_dir: Path) -> str:
    from dreamrooms.film.shotlist import SHOT_LIST

    try:
        return hashlib.sha256((film_dir / SHOT_LIST).read_bytes()).hexdigest()
    except OSError as exc:
        raise ShotNotVisible(f"{film_dir / SHOT_LIST}: cannot read it ({exc.strerror or exc}); the film folder must "
                             f"be on storage every node mounts at the same path") from None


def _make_shot_task(film_dir: str, expected: str, recipe, film, cut, render: bool, run) -> tuple[str, str, str]:
    """Body of a shot task: check the film folder is the driver's, then make the shot with the stages."""
    from dreamrooms import progress
    from dreamrooms.cluster.driver import node_name
    from dreamrooms.film.shots import make_shot

    progress.set_mode("none")
    node = node_name()
    if _list_hash(Path(film_dir)) != expected:
        raise ShotNotVisible(f"node {node} sees a different {film_dir}/shots.toml than the driver; mount the same "
                             f"film folder on every node and do not edit it while the film is made")
    return recipe.id, make_shot(recipe, film, cut, Path(film_dir), render, run), node


def make_shots(address: str, jobs: list, film_dir: Path, film, render: bool, run, say) -> None:
    """Make every (recipe, cut) of `jobs` as its own Ray task; one line per shot as it finishes."""
    from dreamrooms.cluster.driver import MAX_RETRIES, _chunk_error, connect, resources

    with connect(address) as ray:
        res = resources(ray)
        expected = _list_hash(film_dir)
        remote = ray.remote(_make_shot_task).options(num_cpus=res.num_cpus, num_gpus=res.num_gpus,
                                                     max_retries=MAX_RETRIES, name="dreamrooms-film-shot")
        refs = {remote.remote(str(film_dir), expected, r, film, c, render, run): r for r, c in jobs}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        sid, what, node = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - one line, as for frame chunks
                        err = _chunk_error(ray, exc, _Label(refs[ref].id), MAX_RETRIES)
                        raise ClusterError(str(err).replace("chunk ", "shot ", 1)) from None
                    say(f"shot {sid}: {what} on {node}")
        except BaseException:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort while stopping
                    pass
            raise


class _Label:
    """What _chunk_error names: a shot id in place of a frame range."""

    def __init__(self, label: str):
        self.label = label
