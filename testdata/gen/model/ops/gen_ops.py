#!/usr/bin/env python3
"""Golden values and gradients of the 3-D ops in model/ops from Debian's torch 1.13.

Run from the repository root:  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/ops/gen_ops.py [outdir]
Writes model/ops/testdata/ops_golden.safetensors. For each case C: C.x, C.w (kernel, PyTorch layout), C.b (bias),
C.r (upstream gradient), C.y (output), C.gx, C.gw, C.gb (gradients of sum(y * r)). Layouts are PyTorch's:
conv3d input/output [N, C, T, H, W]; the Go test transposes to its channels-last layouts.
  conv_patch  Conv3d(3->5, k=(3,7,7), s=(2,4,4), p=(1,3,3)) — MViT's patch embedding on 1x3x4x16x20
  conv_even   Conv3d(2->3, k=(2,3,4), s=(1,2,1), p=(0,1,2)) — an even kernel (GoMLX's generic gradient is wrong there)
  dw_q        depthwise Conv3d(4 ch, k=3, s=(1,2,2), p=1, groups=4, no bias) on 2x4x3x7x6
  dw_s1       depthwise, s=1, on 1x3x4x5x5
  max_skip    MaxPool3d(k=(1,3,3), s=(1,2,2), p=(0,1,1)) on 2x4x3x7x7 (values rounded to 0.5: ties)
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else 'model/ops/testdata'
os.makedirs(out, exist_ok=True)
torch.manual_seed(3)
res = {}


def case(name, fn, x, w=None, b=None):
    x = x.clone().requires_grad_(True)
    args = [t.clone().requires_grad_(True) for t in (w, b) if t is not None]
    y = fn(x, *args)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    res[f'{name}.x'], res[f'{name}.y'], res[f'{name}.r'], res[f'{name}.gx'] = x.detach(), y.detach(), r, x.grad
    for k, t in zip(('w', 'b'), args):
        res[f'{name}.{k}'], res[f'{name}.g{k}'] = t.detach(), t.grad


case('conv_patch', lambda x, w, b: F.conv3d(x, w, b, stride=(2, 4, 4), padding=(1, 3, 3)),
     torch.randn(1, 3, 4, 16, 20), 0.05 * torch.randn(5, 3, 3, 7, 7), torch.randn(5))
case('conv_even', lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=(0, 1, 2)),
     torch.randn(1, 2, 4, 6, 6), 0.1 * torch.randn(3, 2, 2, 3, 4), torch.randn(3))
case('dw_q', lambda x, w: F.conv3d(x, w, None, stride=(1, 2, 2), padding=1, groups=4),
     torch.randn(2, 4, 3, 7, 6), torch.randn(4, 1, 3, 3, 3))
case('dw_s1', lambda x, w: F.conv3d(x, w, None, stride=1, padding=1, groups=3),
     torch.randn(1, 3, 4, 5, 5), torch.randn(3, 1, 3, 3, 3))
case('max_skip', lambda x: F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1)),
     torch.round(2 * torch.randn(2, 4, 3, 7, 7)) / 2)
st_io.save(f'{out}/ops_golden.safetensors', res, {'torch': torch.__version__})
print(f'{out}/ops_golden.safetensors', os.path.getsize(f'{out}/ops_golden.safetensors'), 'bytes')
