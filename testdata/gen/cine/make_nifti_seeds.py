#!/usr/bin/python3
"""Small NIfTI files for cine's NIfTI reader tests and fuzz seeds (cine/testdata/nifti/), written field by field
from the NIfTI-1 and NIfTI-2 specifications with the standard library (nibabel is not a Debian dependency here):

  small_u8.nii        NIfTI-1, little endian, uint8, 8x6x3x4 (x, y, slice, time), sform set
  small_i16_be.nii    NIfTI-1, big endian, int16, 8x6x2x3, qform only
  small_f32.nii.gz    NIfTI-1, little endian, float32, 6x5x2x2, gzip
  small2_u8.nii       NIfTI-2, little endian, uint8, 4x4x2x2
  huge_t.nii          NIfTI-2 declaring 10^9 time points of a 64x64x10 image, with 64 bytes of data
  huge_dims.nii       NIfTI-1 declaring 32767^4 voxels, with 64 bytes of data

Voxel values are (x + 3y + 7z + 11t) mod 251 (times 10 for int16, /4 for float32), so a reader's layout is checkable.
Usage: make_nifti_seeds.py OUTDIR
"""
import gzip
import os
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
DT = {"u8": (2, 8, "B"), "i16": (4, 16, "h"), "f32": (16, 32, "f")}


def voxels(dims, kind):
    nx, ny, nz, nt = dims
    vals = []
    for t in range(nt):
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    v = (x + 3 * y + 7 * z + 11 * t) % 251
                    vals.append(v * 10 if kind == "i16" else v / 4 if kind == "f32" else v)
    return vals


def nifti1(dims, kind, end="<", sform=True, data=None):
    code, bitpix, fmt = DT[kind]
    h = bytearray(348)
    struct.pack_into(end + "i", h, 0, 348)
    dim = [4] + list(dims) + [1, 1, 1]
    struct.pack_into(end + "8h", h, 40, *dim)
    struct.pack_into(end + "hh", h, 70, code, bitpix)
    struct.pack_into(end + "8f", h, 76, 1, 1.5, 1.5, 8, 1, 1, 1, 1)  # pixdim
    struct.pack_into(end + "f", h, 108, 352.0)  # vox_offset
    struct.pack_into(end + "ff", h, 112, 1.0, 0.0)  # scl_slope, scl_inter
    struct.pack_into(end + "hh", h, 252, 1, 1 if sform else 0)  # qform_code, sform_code
    struct.pack_into(end + "ffffff", h, 256, 0, 0, 0, 0, 0, 0)  # quatern b c d, qoffset x y z
    if sform:
        struct.pack_into(end + "12f", h, 280, 1.5, 0, 0, -10, 0, 1.5, 0, -20, 0, 0, 8, 5)
    h[344:348] = b"n+1\0"
    body = data if data is not None else struct.pack(end + str(len(voxels(dims, kind))) + fmt, *voxels(dims, kind))
    return bytes(h) + b"\0\0\0\0" + body


def nifti2(dims, kind, data=None):
    code, bitpix, fmt = DT[kind]
    h = bytearray(540)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<hh", h, 12, code, bitpix)
    struct.pack_into("<8q", h, 16, 4, *dims, 1, 1, 1)
    struct.pack_into("<8d", h, 104, 1, 1.25, 1.25, 6, 1, 1, 1, 1)
    struct.pack_into("<q", h, 168, 544)  # vox_offset
    struct.pack_into("<dd", h, 176, 1.0, 0.0)
    body = data if data is not None else struct.pack("<" + str(len(voxels(dims, kind))) + fmt, *voxels(dims, kind))
    return bytes(h) + b"\0\0\0\0" + body


def write(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)


write("small_u8.nii", nifti1((8, 6, 3, 4), "u8"))
write("small_i16_be.nii", nifti1((8, 6, 2, 3), "i16", end=">", sform=False))
write("small_f32.nii.gz", gzip.compress(nifti1((6, 5, 2, 2), "f32"), mtime=0))
write("small2_u8.nii", nifti2((4, 4, 2, 2), "u8"))
write("huge_t.nii", nifti2((64, 64, 10, 10 ** 9), "u8", data=bytes(64)))
write("huge_dims.nii", nifti1((32767, 32767, 32767, 32767), "u8", data=bytes(64)))
