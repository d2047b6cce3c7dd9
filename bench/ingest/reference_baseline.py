#!/usr/bin/python3
"""The reference toolkit's per-study steps (cmr_toolkit preprocess_mri.py,
paper era, docs/reference.md §1.3-1.7), as a single-process baseline for
cmrfm ingest's benchmark: for every study folder under ROOT, every series
sub-folder with more than one file is read with pydicom (natsorted file
order), repeated to 3 channels, resized so the short side is 480 (nearest,
cv2 INTER_NEAREST index rule), centre-cropped to 360, and written with h5py
as float32 gzip (level 4) (c, f, h, w) with slice_frames / total_images.

    /usr/bin/python3 reference_baseline.py ROOT OUTDIR
Prints JSON: studies, seconds, studies_per_s, peak_rss_mib.
"""
import json
import os
import re
import resource
import sys
import time

import h5py
import numpy as np
import pydicom

root, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def natkey(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def nearest_idx(n_in, n_out):
    # cv2 INTER_NEAREST: src = floor(dst * n_in / n_out)
    return np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(int), n_in - 1)


def resize_crop(arr, size=480, crop=360):
    f, h, w = arr.shape
    if min(h, w) != size:
        if h <= w:
            oh, ow = size, int(size * w / h)
        else:
            oh, ow = int(size * h / w), size
        arr = arr[:, nearest_idx(h, oh)][:, :, nearest_idx(w, ow)]
    f, h, w = arr.shape
    y0, x0 = int(round((h - crop) / 2)), int(round((w - crop) / 2))
    return arr[:, y0:y0 + crop, x0:x0 + crop]


def study_folders(r):
    for dirpath, dirnames, filenames in os.walk(r):
        subs = [os.path.join(dirpath, d) for d in dirnames]
        if subs and all(not any(os.path.isdir(os.path.join(s, x)) for x in os.listdir(s)) for s in subs):
            yield dirpath, subs
            dirnames[:] = []


t0 = time.perf_counter()
n = 0
for study, series_dirs in sorted(study_folders(root)):
    n += 1
    with h5py.File(os.path.join(out, f"study{n:05d}.h5"), "a") as h5:
        for sd in sorted(series_dirs):
            files = sorted(os.listdir(sd), key=natkey)
            if len(files) < 2:
                continue
            frames, locs = [], []
            desc = None
            for fn in files:
                try:
                    ds = pydicom.dcmread(os.path.join(sd, fn))
                    ds.PhotometricInterpretation = "MONOCHROME2"
                    frames.append(ds.pixel_array)
                    locs.append(float(ds.SliceLocation))
                    desc = str(ds.SeriesDescription).replace(" ", "_").replace("/", "_")
                except Exception:
                    continue
            if not frames or len({f.shape for f in frames}) != 1:
                continue
            arr = resize_crop(np.array(frames))
            arr = np.repeat(arr[None], 3, axis=0)
            loc = np.array(locs)
            sf = np.where(loc[:-1] != loc[1:])[0]
            desc = desc or os.path.basename(sd)  # the reference would fail on an empty SeriesDescription
            if desc in h5:
                continue
            d = h5.create_dataset(desc, data=arr, dtype="f", compression="gzip")
            d.attrs.create("slice_frames", sf.astype(np.int32), dtype="i")
            d.attrs.create("total_images", len(files), dtype="i")
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"studies": n, "seconds": dt, "studies_per_s": n / dt, "peak_rss_mib": rss}))
