#!/usr/bin/python3
"""HDF5 files with hostile declared sizes, written by h5py (internal/hdf5 TestHostileSizes, store TestHostileStore):

  frames_1e9.h5   dataset "4CH" uint8 (3, 10**9, 224, 224), chunked, nothing written: 1.5e14 bytes declared
  frames_3gb.h5   dataset "SAX" uint8 (3, 20000, 224, 224), chunked (1, 1, 224, 224), one chunk written: 3 GB
                  declared, under the 4 GiB single-read limit, in a file of a few kilobytes
Usage: make_hostile.py OUTDIR
"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
with h5py.File(os.path.join(out, "frames_1e9.h5"), "w") as f:
    f.create_dataset("4CH", shape=(3, 10 ** 9, 224, 224), dtype="uint8", chunks=(1, 1, 224, 224))
with h5py.File(os.path.join(out, "frames_3gb.h5"), "w") as f:
    d = f.create_dataset("SAX", shape=(3, 20000, 224, 224), dtype="uint8", chunks=(1, 1, 224, 224))
    d[0, 0] = np.arange(224 * 224, dtype=np.uint32).reshape(224, 224) % 251
    d.attrs["total_images"] = np.int32(20000)
