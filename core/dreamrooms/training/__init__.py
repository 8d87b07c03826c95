"""Training and export of the built-in models (torch lives here and nowhere else in the core).

Entry point: ``python -m dreamrooms.training.builtin [--out models_onnx] [--only NAME]``
(called by ``python3 build.py models``). ``data`` and ``metrics`` are numpy/onnxruntime only,
so tests can measure the committed ONNX files without torch.
"""
