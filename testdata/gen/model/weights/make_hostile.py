#!/usr/bin/python3
"""Hostile PyTorch checkpoints for model/weights (TestHostileTorch), written with
Debian's python3-torch and the standard pickle module:

  rce.pt        torch.save of a state dict that also holds an object whose
                __reduce__ is os.system("touch <marker>") — torch.load would run it
  rce_legacy.pt the same in the legacy (pre-1.6, _use_new_zipfile_serialization=False) format
  bytes8.pt     legacy format whose object pickle declares a 2**38-byte BINBYTES8 string
  frame.pt      legacy format whose object pickle declares a 2**40-byte FRAME
  storage.pt    zip format whose pickle declares a 2**36-element storage held in 8 bytes
  cycle.pt      zip format: a state dict containing a list that contains itself
  deep.pt       legacy format: lists nested 20000 deep (pickled by hand)

Usage: make_hostile.py OUTDIR MARKER_NAME
"""
import io
import os
import pickle
import struct
import sys
import zipfile

import torch

out, marker = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))


w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
torch.save({"w": w, "evil": Evil()}, f"{out}/rce.pt")
torch.save({"w": w, "evil": Evil()}, f"{out}/rce_legacy.pt", _use_new_zipfile_serialization=False)

MAGIC = 0x1950a86a20f9469cfc6c


def legacy(obj_pickle: bytes, keys=(), storages=b"") -> bytes:
    b = io.BytesIO()
    pickle.dump(MAGIC, b, protocol=2)
    pickle.dump(1001, b, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, b, protocol=2)
    b.write(obj_pickle)
    pickle.dump(list(keys), b, protocol=2)
    b.write(storages)
    return b.getvalue()


# PROTO 2, BINBYTES8 with a 2**38 length and 4 bytes of data, STOP.
with open(f"{out}/bytes8.pt", "wb") as f:
    f.write(legacy(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 38) + b"abcd."))
# PROTO 4, FRAME of 2**40 bytes, then a tiny pickle.
with open(f"{out}/frame.pt", "wb") as f:
    f.write(legacy(b"\x80\x04\x95" + struct.pack("<Q", 1 << 40) + b"N."))

# Zip format with a huge declared storage: take a real torch.save archive and rewrite data.pkl's numel.
buf = io.BytesIO()
torch.save({"w": torch.zeros(2, dtype=torch.float32)}, buf)
zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
with zipfile.ZipFile(f"{out}/storage.pt", "w", zipfile.ZIP_STORED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename.endswith("data.pkl"):
            # The persistent id tuple ends with numel 2 (BININT1 K\x02): make it a BININT of 2**30 elements
            # of a 2**36-element storage via LONG1.
            i = data.rfind(b"K\x02t")
            assert i > 0, data
            data = data[:i] + b"\x8a\x05" + (1 << 36).to_bytes(5, "little") + data[i + 2:]
        zout.writestr(item, data)

# A list that contains itself.
cyc = []
cyc.append(cyc)
torch.save({"w": w, "loop": cyc}, f"{out}/cycle.pt")

# 100000 nested lists around nothing: MARK-free EMPTY_LIST / APPEND built bottom-up.
depth = 20000
p = bytearray(b"\x80\x02")
p += b"]" * depth          # push depth empty lists
p += b"a" * (depth - 1)    # append each into the one below
p += b"."
with open(f"{out}/deep.pt", "wb") as f:
    f.write(legacy(bytes(p)))
