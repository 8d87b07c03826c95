"""Scene builders: plain functions on bpy data, shared by the operators and the headless entry."""
