#!/usr/bin/python3
"""Writes the h5py fixtures that store's tests read (store/testdata/*.h5) and
their expected contents (store/testdata/fixtures.json).

Each file is written the way one of the reference tools writes its stores
(docs/reference.md §1.7, §1.9), with small arrays so the fixtures stay tiny.
Expected values are computed here by numpy from the arrays h5py wrote, in
canonical (c, f, h, w) order: shape, dtype and the sha256 of the C-order
bytes (uint8, or float32 little-endian).

Run (Debian bookworm: apt-get install python3-h5py python3-numpy):
    /usr/bin/python3 testdata/gen/store/make_fixtures.py store/testdata
"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261126)
expected = {"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "numpy": np.__version__, "files": {}}


def grey_video(f, h, w, hi):
    """A grey cine (f, h, w) with raw DICOM-like intensities in [0, hi]."""
    return rng.integers(0, hi + 1, size=(f, h, w)).astype(np.float64)


def smooth_video(f, h, w, hi):
    """A compressible cine: a moving bright disc on a dark ramp, integer-valued."""
    t, y, x = np.meshgrid(np.arange(f), np.arange(h), np.arange(w), indexing="ij")
    r2 = (y - h / 2) ** 2 + (x - w / 2 - t % 3) ** 2
    v = np.where(r2 < (h / 4) ** 2, hi, hi // 4) + (x * 2)
    return np.clip(v, 0, hi).astype(np.float64)


def to_cfhw(grey, c=3):
    return np.repeat(grey[None], c, axis=0)


def record(fname, key, cfhw, dtype, slice_frames, total_images, layout):
    arr = np.ascontiguousarray(cfhw.astype(dtype))
    if dtype == np.float32:
        arr = arr.astype("<f4")
    expected["files"].setdefault(fname, {})[key] = {
        "shape_cfhw": list(arr.shape),
        "dtype": "uint8" if dtype == np.uint8 else "float32",
        "sha256": hashlib.sha256(arr.tobytes()).hexdigest(),
        "slice_frames": [int(x) for x in slice_frames],
        "total_images": int(total_images),
        "layout": layout,
        "first": float(arr.flat[0]),
        "last": float(arr.flat[-1]),
    }


def slice_frames_for(frames_per_slice):
    """The toolkit's np.where(loc[:-1] != loc[1:])[0] on a stacked series."""
    loc = np.repeat(np.arange(len(frames_per_slice)), frames_per_slice)
    return np.where(loc[:-1] != loc[1:])[0].astype(np.int32)


# 1. Paper-era toolkit (array_to_h5): float32 (c,f,h,w), gzip level 4, h5py's
#    default chunking, raw SeriesDescription keys, slice_frames int32 (maybe
#    empty) and a scalar int32 total_images.
fname = "ref_paper_era.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    for key, fps, hi in [("4CH_FIESTA_BH", [7], 1800), ("SAX_FIESTA_BH", [5, 5, 5, 5], 2047), ("2_Chamber", [6], 900)]:
        g = grey_video(sum(fps), 12, 16, hi)
        arr = to_cfhw(g)
        sf = slice_frames_for(fps)
        d = f.create_dataset(key, data=arr, dtype="f", compression="gzip")
        d.attrs.create("slice_frames", sf, dtype="i")
        d.attrs.create("total_images", sum(fps), dtype="i")
        record(fname, key, arr, np.float32, sf, sum(fps), "cfhw")

# 2. Toolkit HEAD --channels rgb: float32 (f, c, h, w), gzip.
fname = "toolkit_head_fchw.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    for key, fps in [("4CH", [8]), ("SAX", [4, 4, 4])]:
        g = grey_video(sum(fps), 10, 14, 1200)
        arr = np.transpose(to_cfhw(g), (1, 0, 2, 3))  # (f, c, h, w)
        sf = slice_frames_for(fps)
        d = f.create_dataset(key, data=arr, dtype="f", compression="gzip", compression_opts=4)
        d.attrs.create("slice_frames", sf, dtype="i")
        d.attrs.create("total_images", sum(fps), dtype="i")
        record(fname, key, to_cfhw(g), np.float32, sf, sum(fps), "fchw")

# 3. Toolkit HEAD --channels grey: uint8 (f, h, w) after min-max to 0-255, gzip.
fname = "toolkit_head_grey.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    g = grey_video(9, 10, 12, 255)
    d = f.create_dataset("3CH", data=g.astype(np.uint8), compression="gzip")
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 9, dtype="i")
    record(fname, "3CH", g[None], np.uint8, [], 9, "fhw")

# 4. cmrfm layout written by h5py with other filters: lzf, shuffle+gzip,
#    fletcher32, one chunk per frame; and a file in the newest format
#    (superblock v3, version-2 object headers).
#    LZF gets compressible data here; cmrfm_lzf_incompressible.h5 below has
#    chunks LZF cannot shrink, which h5py stores raw with the filter mask set.
for fname, kw, libver in [
    ("cmrfm_lzf.h5", dict(compression="lzf", chunks=(3, 1, 12, 16)), "earliest"),
    ("cmrfm_shuffle_gzip.h5", dict(compression="gzip", compression_opts=9, shuffle=True, chunks=(3, 2, 12, 16)), "earliest"),
    ("cmrfm_fletcher32.h5", dict(fletcher32=True, chunks=(3, 1, 6, 16)), "earliest"),
    ("cmrfm_libver_latest.h5", dict(), "latest"),
]:
    with h5py.File(os.path.join(out, fname), "w", libver=libver) as f:
        for key, fps in [("2CH", [6]), ("SAX", [3, 3, 3, 3])]:
            g = (smooth_video if "lzf" in fname else grey_video)(sum(fps), 12, 16, 255)
            arr = to_cfhw(g).astype(np.uint8)
            sf = slice_frames_for(fps)
            d = f.create_dataset(key, data=arr, **kw)
            d.attrs.create("slice_frames", sf, dtype="i")
            d.attrs.create("total_images", sum(fps), dtype="i")
            record(fname, key, arr, np.uint8, sf, sum(fps), "cfhw")

# 4b. More storage variants: chunks stored raw because LZF could not shrink
#     them; the newest format with gzip chunks (fixed-array chunk index) and
#     a single-chunk index; big-endian int16 and little-endian float64 data.
fname = "cmrfm_lzf_incompressible.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    arr = to_cfhw(grey_video(2, 12, 16, 255)).astype(np.uint8)
    d = f.create_dataset("4CH", data=arr, compression="lzf", chunks=(3, 1, 12, 16))
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 2, dtype="i")
    record(fname, "4CH", arr, np.uint8, [], 2, "cfhw")
fname = "libver_latest_chunked.h5"
with h5py.File(os.path.join(out, fname), "w", libver="latest") as f:
    arr = to_cfhw(grey_video(5, 12, 16, 255)).astype(np.uint8)
    d = f.create_dataset("4CH", data=arr, compression="gzip", chunks=(3, 1, 12, 16))
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 5, dtype="i")
    record(fname, "4CH", arr, np.uint8, [], 5, "cfhw")
    arr = to_cfhw(grey_video(4, 12, 16, 255)).astype(np.uint8)
    d = f.create_dataset("SAX", data=arr, compression="gzip", chunks=arr.shape)
    d.attrs.create("slice_frames", np.array([1], np.int32), dtype="i")
    d.attrs.create("total_images", 4, dtype="i")
    record(fname, "SAX", arr, np.uint8, [1], 4, "cfhw")
fname = "other_types.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    g = grey_video(4, 6, 7, 4095)
    d = f.create_dataset("SAX", data=to_cfhw(g).astype(">i2"), chunks=(3, 2, 6, 7), compression="gzip")
    d.attrs.create("slice_frames", np.array([1], ">i8"))
    d.attrs.create("total_images", np.int16(4))
    record(fname, "SAX", to_cfhw(g), np.float32, [1], 4, "cfhw")
    g = grey_video(5, 6, 7, 2000) / 7.0
    d = f.create_dataset("2CH", data=to_cfhw(g).astype("<f8"))
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 5, dtype="i")
    record(fname, "2CH", to_cfhw(g), np.float32, [], 5, "cfhw")

# 5. Shapes whose channel axis cannot be told from the shape: 3 frames of 3
#    channels in both orders; the channel axis holds identical planes.
fname = "ambiguous_3x3.h5"
with h5py.File(os.path.join(out, fname), "w") as f:
    g = grey_video(3, 8, 8, 255)
    arr = to_cfhw(g).astype(np.uint8)
    d = f.create_dataset("4CH", data=arr)
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 3, dtype="i")
    record(fname, "4CH", arr, np.uint8, [], 3, "cfhw")
    g2 = grey_video(3, 8, 8, 255)
    d = f.create_dataset("2CH", data=np.transpose(to_cfhw(g2), (1, 0, 2, 3)).astype(np.uint8))
    d.attrs.create("slice_frames", np.zeros((0,), np.int32), dtype="i")
    d.attrs.create("total_images", 3, dtype="i")
    record(fname, "2CH", to_cfhw(g2), np.uint8, [], 3, "fchw")

# 6. Bad files: each must give a named error, never a panic.
bad = {}
with h5py.File(os.path.join(out, "bad_2d.h5"), "w") as f:
    f.create_dataset("4CH", data=np.zeros((12, 16), np.uint8))
bad["bad_2d.h5"] = "shape"
with h5py.File(os.path.join(out, "bad_5d.h5"), "w") as f:
    f.create_dataset("SAX", data=np.zeros((3, 2, 2, 4, 4), np.uint8))
bad["bad_5d.h5"] = "shape"
with h5py.File(os.path.join(out, "bad_slice_frames.h5"), "w") as f:
    d = f.create_dataset("SAX", data=np.zeros((3, 8, 4, 4), np.uint8))
    d.attrs.create("slice_frames", np.array([5, 3], np.int32), dtype="i")
    d.attrs.create("total_images", 8, dtype="i")
bad["bad_slice_frames.h5"] = "slice_frames"
with h5py.File(os.path.join(out, "bad_slice_frames_end.h5"), "w") as f:
    d = f.create_dataset("SAX", data=np.zeros((3, 8, 4, 4), np.uint8))
    d.attrs.create("slice_frames", np.array([3, 7], np.int32), dtype="i")
    d.attrs.create("total_images", 8, dtype="i")
bad["bad_slice_frames_end.h5"] = "slice_frames"
with h5py.File(os.path.join(out, "bad_no_datasets.h5"), "w") as f:
    f.create_group("only_a_group")
bad["bad_no_datasets.h5"] = "no datasets"
with h5py.File(os.path.join(out, "bad_strings.h5"), "w") as f:
    f.create_dataset("4CH", data=np.array([b"not", b"pixels"]).reshape(1, 1, 1, 2))
bad["bad_strings.h5"] = "datatype"
# Known reader limits: named errors, never wrong pixels or missing views.
with h5py.File(os.path.join(out, "bad_resizable_latest.h5"), "w", libver="latest") as f:
    f.create_dataset("4CH", data=np.zeros((3, 2, 4, 4), np.uint8), maxshape=(3, None, 4, 4))
bad["bad_resizable_latest.h5"] = "extensible-array chunk index"

expected["bad"] = bad

with open(os.path.join(out, "fixtures.json"), "w") as fh:
    json.dump(expected, fh, indent=1, sort_keys=True)
print("wrote", len(expected["files"]), "fixtures +", len(bad), "bad files to", out)
