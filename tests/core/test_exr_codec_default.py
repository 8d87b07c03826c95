"""The writer's default codec (chosen by bench/exr_codecs.py) is lossless and on a pool of one thread per core."""
import os

import numpy as np
import OpenEXR

from dreamrooms.shot import exr


def test_default_codec_is_lossless_zips_on_every_core(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.random((36, 64, 4)).astype(np.float16)
    depth = (1 + 9 * rng.random((36, 64))).astype(np.float32)
    path = exr.write_frame(tmp_path / "f.exr", {"RGBA": rgba, "depth.Z": depth})
    assert exr.info(path).compression == exr.DEFAULT_COMPRESSION == "zips"
    back = exr.read_frame(path)
    np.testing.assert_array_equal(back["RGBA"], rgba)          # lossless, bit for bit
    np.testing.assert_array_equal(back["depth.Z"], depth)
    assert OpenEXR.global_thread_count() == exr.codec_threads() == (os.cpu_count() or 1)
