"""dreamrooms: generative-model output to 3D film material (shots, depth, walks, Blender, After Effects)."""

__version__ = "0.1.0"
