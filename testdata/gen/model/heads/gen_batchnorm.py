#!/usr/bin/env python3
"""Golden fixture for heads.FeatureBatchNorm, computed by torch 1.13 (Debian): torch.nn.BatchNorm1d(D,
affine=False, momentum=0.1, eps=1e-5) on [B, D] features, the normalisation cmrfm's pretraining can put in
front of each projection (model.proj_norm: batch).

Usage (from the repository root; < 1 s, byte-reproducible):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/heads/gen_batchnorm.py model/heads/testdata/batchnorm_golden.safetensors

Three training-mode steps on batches of 6, 6 and 2 rows (float32, the model dtype; inputs with per-feature offsets and scales
from 1e-2 to 1e2), then one evaluation-mode call. Training mode normalises with the batch mean and the biased
batch variance and updates running_mean/var with momentum 0.1 (the variance with the unbiased estimate);
evaluation normalises with the running statistics. Stored: s{i}.x [B,D], s{i}.y [B,D], s{i}.w [B,D] (a fixed
weighting), s{i}.grad [B,D] = d sum(y*w)/dx, s{i}.running_mean [D], s{i}.running_var [D] after the step,
eval.x, eval.y.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
import st_io  # noqa: E402  (testdata/gen/st_io.py: numpy-only safetensors writer)

torch.set_num_threads(1)
torch.manual_seed(20261127)
D = 5
bn = torch.nn.BatchNorm1d(D, affine=False, momentum=0.1, eps=1e-5).float()
offset = torch.tensor([0.0, 3.0, -50.0, 0.5, 100.0], dtype=torch.float32)
scale = torch.tensor([1.0, 0.01, 10.0, 0.1, 100.0], dtype=torch.float32)
out = {}
bn.train()
for i, b in enumerate([6, 6, 2]):
    x = (torch.randn(b, D, dtype=torch.float32) * scale + offset).requires_grad_(True)
    w = torch.randn(b, D, dtype=torch.float32)
    y = bn(x)
    (y * w).sum().backward()
    p = f's{i}.'
    out[p + 'x'] = x.detach().numpy()
    out[p + 'y'] = y.detach().numpy()
    out[p + 'w'] = w.numpy()
    out[p + 'grad'] = x.grad.numpy()
    out[p + 'running_mean'] = bn.running_mean.numpy().copy()
    out[p + 'running_var'] = bn.running_var.numpy().copy()
bn.eval()
x = torch.randn(4, D, dtype=torch.float32) * scale + offset
out['eval.x'] = x.numpy()
out['eval.y'] = bn(x).detach().numpy()
st_io.save(sys.argv[1], out, {'torch': torch.__version__})
