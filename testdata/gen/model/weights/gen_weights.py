#!/usr/bin/env python3
"""Generates the format fixtures of model/weights/testdata with Debian's torch 1.13 and numpy 1.24.

Run from the repository root:  /usr/bin/python3 testdata/gen/model/weights/gen_weights.py [outdir]
(apt: python3-torch python3-numpy). Deterministic.

Every file holds the same small tensors; expected.json records, for each name, the dtype, shape and the values
(as float64, C order) computed by numpy from the original arrays — the truth the Go readers are compared with.
  formats.pt               torch.save zip: float32/64/16, bfloat16, int64/32/16/8, uint8, bool, a transposed
                           (non-contiguous) view, a view at a storage offset, an nn.Parameter
  formats_legacy.pt        the same float32/int64 subset with _use_new_zipfile_serialization=False
  formats.npz              numpy.savez (bfloat16 omitted: numpy has none)
  formats_compressed.npz   numpy.savez_compressed
  fortran.npy              one Fortran-ordered array (name "fortran")
  formats.safetensors      st_io (numpy) writer
"""
import collections
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else 'model/weights/testdata'
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(5)
base = torch.arange(12, dtype=torch.float32)
t = collections.OrderedDict()
t['f32'] = torch.randn(2, 3, generator=g)
t['f64'] = torch.randn(3, generator=g, dtype=torch.float64)
t['f16'] = torch.tensor([[0.5, -2.0, 65504.0], [6.1e-5, 1e-6, -0.0]], dtype=torch.float16)  # max, min normal, a subnormal
t['bf16'] = torch.tensor([1.5, -3.25, 1e30], dtype=torch.bfloat16)
t['i64'] = torch.tensor([-(2 ** 40), -1, 0, 7], dtype=torch.int64)
t['i32'] = torch.tensor([-5, 9], dtype=torch.int32)
t['i16'] = torch.tensor([-300, 300], dtype=torch.int16)
t['i8'] = torch.tensor([-128, 127], dtype=torch.int8)
t['u8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
t['bool'] = torch.tensor([True, False, True])
t['scalar'] = torch.tensor(3.5)
t['transposed'] = base.reshape(3, 4).t()   # shape (4, 3), strides (1, 4)
t['offset_view'] = base[5:9]               # storage offset 5
assert not t['transposed'].is_contiguous() and t['offset_view'].storage_offset() == 5
t['nested.deep.weight'] = torch.randn(2, 2, generator=g)

sd = collections.OrderedDict(t)
sd['param'] = torch.nn.Parameter(torch.randn(3, generator=g))
torch.save(sd, f'{out}/formats.pt')
torch.save(collections.OrderedDict((k, sd[k]) for k in ('f32', 'i64')), f'{out}/formats_legacy.pt',
           _use_new_zipfile_serialization=False)

expected = {}
for k, v in sd.items():
    v = v.detach()
    a = v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy()
    expected[k] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape),
                   'values': [float(x) for x in np.ascontiguousarray(a, dtype=np.float64).ravel()]}
json.dump(expected, open(f'{out}/expected.json', 'w'), indent=0, sort_keys=True)

npz = {k: v.detach().numpy() for k, v in sd.items() if v.dtype != torch.bfloat16}
np.savez(f'{out}/formats.npz', **npz)
np.savez_compressed(f'{out}/formats_compressed.npz', **npz)
np.save(f'{out}/fortran.npy', np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)))
st_io.save(f'{out}/formats.safetensors', npz, {'origin': 'gen_weights.py'})
for f in sorted(os.listdir(out)):
    print(f, os.path.getsize(os.path.join(out, f)))
