"""Camera: pinhole geometry, rays, grids and focus (`geometry`) and the one registry of camera moves (`moves`)."""
from dreamrooms.camera.geometry import (SENSOR_FITS, Intrinsics, clamp_depth, edge_cut_mask, focus_distance,
                                        focus_from_points, grid_triangles, grid_uv, intrinsics, look_at,
                                        matrices_to_lists, pixel_rays, project, rays_uv, resolve_fit, rotation,
                                        sample_bilinear, sample_grid, to_world, unproject, unproject_world)
from dreamrooms.camera.moves import (EASINGS, MOVE_ALIASES, MOVES, REGISTRY, add_shake, camera_move, ease,
                                     normalise_move)
