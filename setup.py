"""Packages of the dreamrooms wheel: the `dreamrooms` package under core/, plus two data packages that live at the
top of the repository but ship inside the wheel: the built-in models (models_onnx/ -> dreamrooms.builtin_models)
and the After Effects library (ae_scripts/ -> dreamrooms.ae.jsx).  Everything else is in pyproject.toml."""
from setuptools import find_packages, setup

setup(
    packages=find_packages("core") + ["dreamrooms.builtin_models", "dreamrooms.ae.jsx"],
    package_dir={"": "core", "dreamrooms.builtin_models": "models_onnx", "dreamrooms.ae.jsx": "ae_scripts"},
    package_data={"dreamrooms": ["*.json", "**/*.json"], "dreamrooms.builtin_models": ["*.toml", "*.onnx", "*.md"],
                  "dreamrooms.ae.jsx": ["*.jsx"]},
)
