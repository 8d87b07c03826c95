"""Running stages on a Ray cluster (`--ray [ADDRESS]`, `--chunk N`): frames split into chunks, one Ray task per
chunk, every node reading and writing the same shot folder on shared storage.

* :mod:`~dreamrooms.cluster.plan`: address resolution, chunk planning, the shot check (no Ray);
* :mod:`~dreamrooms.cluster.driver`: connect, size tasks to the nodes, submit, retry, one progress bar;
* :mod:`~dreamrooms.cluster.stages`: walks and renders in chunks; :mod:`~dreamrooms.cluster.depth`: depth in
  chunks that keeps its temporal stability (a reference fixes the scale, chunks warm up in an overlap);
  :mod:`~dreamrooms.cluster.frames`: mask and layers in chunks, their temporal filters warmed up in an overlap.

A stage joins the same way: a chunk function ``fn(chunk, *, ..., threads)`` that writes the chunk's frames whole
(atomic renames), is a pure function of its inputs (so a retry rewrites the same frames) and leaves stale
temps alone (other chunks' are in flight); a driver function that holds the stage's writer lock
(:func:`dreamrooms.shot.lock.writer_lock`), calls :func:`~dreamrooms.cluster.stages.run_stage` and then
registers the sequences once all frames exist; and :func:`~dreamrooms.cluster.plan.add_arguments` on its command.
A stage with state carried from frame to frame takes a warm-up (``Chunk.warmup``): frames computed, not written.

Ray is an optional extra (``pip install 'dreamrooms[cluster]'``) and is imported only inside this package.
"""
