#!/usr/bin/python3
"""The h5py side of store's benchmark: write and read back a 4-view study of
uint8 (3, 50, 224, 224) per view, the same data layout cmrfm writes
(contiguous, unfiltered) and, for reference, the paper-era toolkit's float32
gzip level 4. Prints JSON with MB/s (MB = 1e6 bytes of uint8 pixels) for each.

    /usr/bin/python3 bench/store/h5py_bench.py OUTDIR [REPEATS]
"""
import json
import os
import sys
import time

import h5py
import numpy as np

outdir = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
views = ["4CH", "3CH", "2CH", "SAX"]
rng = np.random.default_rng(1)
grey = rng.integers(0, 256, size=(50, 224, 224), dtype=np.uint8)
arr = np.ascontiguousarray(np.repeat(grey[None], 3, axis=0))
nbytes = arr.nbytes * len(views)


def bench(kind, **kw):
    path = os.path.join(outdir, f"h5py_{kind}.h5")
    best_w = best_r = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        with h5py.File(path, "w") as f:
            for v in views:
                d = f.create_dataset(v, data=arr if kind == "uint8" else arr.astype("f4"), **kw)
                d.attrs.create("slice_frames", np.array([9, 19, 29, 39], np.int32), dtype="i")
                d.attrs.create("total_images", 50, dtype="i")
            f.flush()
            os.fsync(f.id.get_vfd_handle())
        best_w = min(best_w, time.perf_counter() - t0)
        t0 = time.perf_counter()
        with h5py.File(path, "r") as f:
            for v in views:
                _ = f[v][()]
        best_r = min(best_r, time.perf_counter() - t0)
    os.remove(path)
    return {"write_MBps": nbytes / best_w / 1e6, "read_MBps": nbytes / best_r / 1e6}


res = {"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "bytes": nbytes,
       "uint8_contiguous": bench("uint8"),
       "float32_gzip4": bench("float32", compression="gzip", compression_opts=4)}
json.dump(res, sys.stdout)
