"""Running stages on a Ray cluster (`--ray [ADDRESS]`, `--chunk N`): frames split into chunks, one Ray task per
chunk, every node reading and writing the same shot folder on shared storage.

* :mod:`~dreamrooms.cluster.plan`: address resolution, chunk planning, the shot check (no Ray);
* :mod:`~dreamrooms.cluster.driver`: connect, size tasks to the nodes, submit, retry, one progress bar;
* :mod:`~dreamrooms.cluster.stages`: walks and renders in chunks; :mod:`~dreamrooms.cluster.depth`: depth in
  chunks that keeps its temporal stability (a reference fixes the scale, chunks warm up in an overlap).

A new stage (mask, layers) joins the same way: a chunk function ``fn(chunk, *, ..., threads)`` that writes the
chunk's frames whole (atomic renames) and is a pure function of its inputs, so a retry rewrites the same
frames; a driver function that calls :func:`~dreamrooms.cluster.stages.run_stage` and then registers the
sequence once all frames exist; and :func:`~dreamrooms.cluster.plan.add_arguments` on its command.

Ray is an optional extra (``pip install 'dreamrooms[cluster]'``) and is imported only inside this package.
"""
