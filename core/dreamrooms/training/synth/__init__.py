"""Procedural scenes with exact depth, a small numpy ray caster: primitives (`scene`), rendering (`render`),
random rooms and camera paths (`random`).  Trains tinydepth; tests use it for images with known geometry."""
from dreamrooms.training.synth.random import camera_path, random_scene, random_texture
from dreamrooms.training.synth.render import render_clip, render_scene
from dreamrooms.training.synth.scene import Box, Camera, PointLight, Plane, Quad, Room, Scene, Sphere, Texture

__all__ = ["Box", "Camera", "PointLight", "Plane", "Quad", "Room", "Scene", "Sphere", "Texture", "camera_path",
           "random_scene", "random_texture", "render_clip", "render_scene"]
