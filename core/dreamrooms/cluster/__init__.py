"""Running stages on a Ray cluster (`--ray [ADDRESS]`, `--chunk N`): frames split into chunks, one Ray task per
chunk, every node reading and writing the same shot folder on shared storage.

* :mod:`~dreamrooms.cluster.plan`: address resolution, chunk planning, the shot check (no Ray);
* :mod:`~dreamrooms.cluster.driver`: connect, size tasks to the nodes, submit, retry, one progress bar;
* :mod:`~dreamrooms.cluster.stages`: walks and renders in chunks; :mod:`~dreamrooms.cluster.depth`: depth in
  chunks that keeps its temporal stability (a reference fixes the scale, chunks warm up in an overlap).

Ray is an optional extra (``pip install 'dreamrooms[cluster]'``) and is imported only inside this package.
"""
