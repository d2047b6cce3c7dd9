#!/usr/bin/env python3
"""Speed of the reference transform chains in torch 1.13 / torchvision 0.14 (Debian), one thread, for
docs/benchmarks.md next to `go test -bench Chain ./train/data/` (run both with bench/train/data/bench.sh).

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train/data/bench_transforms.py [CLIPS]

Input: the same synthetic 30-frame view of 360x360 stored frames as the Go benchmark (3 identical channels), as a
float32 (C,T,H,W) tensor. Per clip: UniformTemporalSubsample(16), then the train chain (AugMix magnitude 3, width 3,
depth -1, alpha 1 with pytorchvideo 0.1.3's sampling — restated in gen_transforms.py's op() — Normalize,
RandomShortSideScale(264, 380), RandomCrop(224), RandomHorizontalFlip, Div255) or the val chain (Normalize,
ShortSideScale(264), CenterCrop(224), Div255). Prints clips/s for each (the rate over all clips).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'testdata', 'gen', 'train', 'data'))
from gen_transforms import OPS, normalize, op, short_side_scale, temporal_idx  # noqa: E402

torch.set_num_threads(1)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
y, x = np.meshgrid(np.arange(360), np.arange(360), indexing='ij')
v = np.stack([((y * 37 + x * 11 + f * 101 + (x * y) // 97) % 256) for f in range(30)]).astype(np.float32)
video = torch.from_numpy(np.stack([v, v, v]))

MAX = {'Rotate': 30, 'ShearX': 0.3, 'ShearY': 0.3, 'TranslateX': 1 / 3, 'TranslateY': 1 / 3}
dirichlet = torch.distributions.dirichlet.Dirichlet(torch.tensor([1.0] * 3))
beta = torch.distributions.beta.Beta(1.0, 1.0)


def arg(name):
    level = torch.rand(1).item() * (3 - 0.1) + 0.1
    f = level / 10
    if name in MAX:
        m = f * MAX[name]
        return m if torch.rand(1).item() > 0.5 else -m
    if name == 'Posterize':
        return 4 - int(f * 4)
    if name == 'Solarize':
        return 1 - f
    if name.startswith('Adjust'):
        return 0.1 + f * 1.8
    return 0


def augmix(vid):  # (T,C,H,W)
    ws, m = dirichlet.sample(), beta.sample().item()
    mixed = torch.zeros(vid.shape, dtype=torch.float32)
    for w in ws:
        out = vid
        for i in torch.multinomial(torch.ones(len(OPS)), torch.randint(1, 4, (1,)).item(), replacement=True):
            out = op(OPS[i], out, arg(OPS[i]))
        mixed += w * out
    return m * vid + (1 - m) * mixed


crop, flip = T.RandomCrop(224), T.RandomHorizontalFlip(0.5)


def train(c):
    c = augmix(c.permute(1, 0, 2, 3)).permute(1, 0, 2, 3)
    c = short_side_scale(normalize(c), torch.randint(264, 381, (1,)).item())
    return flip(crop(c)) / 255.0


def val(c):
    c = short_side_scale(normalize(c), 264)
    return T.CenterCrop(224)(c) / 255.0


res = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'clips': n}
for name, fn in [('train', train), ('val', val)]:
    fn(torch.index_select(video, 1, temporal_idx(30)))
    t0 = time.perf_counter()
    for _ in range(n):
        out = fn(torch.index_select(video, 1, temporal_idx(30)))
    dt = time.perf_counter() - t0
    assert out.shape == (3, 16, 224, 224)
    res[name + '_clips_per_s'] = round(n / dt, 2)
print(json.dumps(res))
