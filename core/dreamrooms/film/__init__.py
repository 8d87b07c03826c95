"""Films: a Fountain screenplay and its shot list made into shot folders and assembled (AE, Blender, animatic)."""
