#!/usr/bin/python3
"""Describes an HDF5 study file as h5py/libhdf5 read it, as JSON on stdout:
for every root dataset its shape, dtype, sha256 of the C-order bytes, and
each attribute's value, dtype and shape. store's interop test runs this on
files cmrfm wrote and compares with what it wrote.

    /usr/bin/python3 testdata/gen/store/h5py_dump.py FILE.h5
"""
import hashlib
import json
import sys

import h5py
import numpy as np

out = {"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "datasets": {}}
with h5py.File(sys.argv[1], "r") as f:
    for name, d in f.items():
        arr = d[()]
        attrs = {}
        for k, v in d.attrs.items():
            v = np.asarray(v)
            attrs[k] = {"dtype": str(v.dtype), "shape": list(v.shape), "value": v.tolist()}
        out["datasets"][name] = {
            "shape": list(arr.shape),
            "dtype": str(arr.dtype),
            "sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
            "chunks": d.chunks,
            "compression": d.compression,
            "attrs": attrs,
        }
json.dump(out, sys.stdout, indent=1, sort_keys=True)
