#!/usr/bin/python3
"""DICOM files with hostile declared sizes, written with pydicom (dicom TestHostileSizes):

  frames_1e9.dcm      MR image, native 16-bit, 64x64, NumberOfFrames 1000000000, one frame of pixel data
  frames_1e9_rle.dcm  RLE Lossless, NumberOfFrames 1000000000, two fragments
  element_4gb.dcm     a private OB element whose length field says 0xFFFFFFF0 bytes (4 GB), in a 600-byte file
Usage: make_hostile.py OUTDIR
"""
import os
import struct
import sys

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def base(ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.3.4.5.6.7.8.1"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.7.8.2"
    ds.Modality = "MR"
    ds.Rows, ds.Columns = 64, 64
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.NumberOfFrames = 1000000000
    return ds


ds = base(ExplicitVRLittleEndian)
ds.PixelData = bytes(64 * 64 * 2)
ds.save_as(os.path.join(out, "frames_1e9.dcm"), write_like_original=False)

ds = base(RLELossless)
# Two RLE frames of a 64x64 zero image: header (1 segment) + a replicate run.
seg = b"".join([bytes([0x81, 0]) for _ in range(64 * 64 * 2 // 128)])
frame = struct.pack("<16I", 1, 64, *([0] * 14)) + seg
ds.PixelData = encapsulate([frame, frame])
ds["PixelData"].VR = "OB"
ds.save_as(os.path.join(out, "frames_1e9_rle.dcm"), write_like_original=False)

ds = base(ExplicitVRLittleEndian)
ds.NumberOfFrames = 1
ds.add_new(0x00091010, "OB", b"\x00" * 16)
ds.PixelData = bytes(64 * 64 * 2)
path = os.path.join(out, "element_4gb.dcm")
ds.save_as(path, write_like_original=False)
b = bytearray(open(path, "rb").read())
i = b.find(b"\x09\x00\x10\x10OB\x00\x00")
assert i > 0
struct.pack_into("<I", b, i + 8, 0xFFFFFFF0)
open(path, "wb").write(bytes(b[: i + 12 + 16]))
