"""Running stages on a Ray cluster (`--ray [ADDRESS]`, `--chunk N`): frames split into chunks, one Ray task per
chunk, every node reading and writing the same shot folder on shared storage.

* :mod:`~dreamrooms.cluster.plan`: address resolution, chunk planning, the shot check (no Ray);
* :mod:`~dreamrooms.cluster.driver`: connect, size tasks to the nodes, submit, retry, one progress bar;
* :mod:`~dreamrooms.cluster.stages`: walks and renders in chunks; :mod:`~dreamrooms.cluster.depth`: depth in
  chunks that keeps its temporal stability (a reference fixes the scale, chunks warm up in an overlap);
  :mod:`~dreamrooms.cluster.frames`: mask and layers in chunks, their temporal filters warmed up in an overlap.

A stage on the stage spine (:mod:`dreamrooms.stage`) joins through the spine's own API, with no cluster-only
parameter in the stage: the driver holds the stage's lock (``spine.locked``) and plans once (``spine.plan``: checks
every input, cleans what a killed run left), calls :func:`~dreamrooms.cluster.stages.run_stage` with a chunk function
that runs ``spine.run_chunk(STAGE, settings, spine.Chunk(first, last, warmup_from, context))`` (frames written whole
by atomic renames; a retry rewrites the same frames), and registers with ``spine.register`` once all frames exist;
:func:`~dreamrooms.cluster.plan.add_arguments` goes on its command.  A stage with state carried from frame to frame
takes a warm-up (``Chunk.warmup_from``: frames computed, not written); what the driver computed for every chunk
(depth's reference keyframes, the walk's latents) travels as the chunk's ``context``.

Ray is an optional extra (``pip install 'dreamrooms[cluster]'``) and is imported only inside this package.
"""
