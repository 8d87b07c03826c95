"""Depth for whole sequences: network-size images and edge-aware upsampling (`image`), opening the model
(`model`), the streamed stage (`pipeline`), resume (`resume`) and temporal stabilisation (`stabilize`)."""
from dreamrooms.depth.image import bilinear_upsample, joint_bilateral_upsample, network_size, preprocess
from dreamrooms.depth.model import default_threads, load_model
from dreamrooms.depth.pipeline import DepthResult, estimate_sequence

__all__ = ["DepthResult", "bilinear_upsample", "default_threads", "estimate_sequence", "joint_bilateral_upsample",
           "load_model", "network_size", "preprocess"]
