#!/usr/bin/env python3
"""Golden fixtures for cmrfm's train/data transforms, from Debian's torch 1.13 / torchvision 0.14.

Usage (from the repository root; ~10 s):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/train/data/gen_transforms.py train/data/testdata/transforms_golden.safetensors

Setup: apt-get install -y python3-torch python3-torchvision python3-numpy (see shared/reference/10-torch-mvit.sh).

pytorchvideo 0.1.3 (the reference's transform library) is not packaged by Debian. Its AugMix operations are thin
wrappers around torchvision 0.14 functions; this script re-states those wrappers (argument mapping, the x*255 -> uint8
casts of Equalize/Posterize, the affine matrices of Shear/Translate, fill 0.5) and calls torchvision for the pixel
work, which makes torchvision the oracle. pytorchvideo's own functions used by the chains (uniform_temporal_subsample,
short_side_scale, Normalize on (C,T,H,W), div_255) are one-liners over torch (linspace/clamp/long, F.interpolate
bilinear align_corners=False, sub/div) and are re-stated the same way. docs/reference.md §2.5 describes them.

Contents (all float32 unless noted):
  temporal_idx            int32 [300,16]: uniform_temporal_subsample indices for T = 1..300
  op.in.unit / op.in.raw  [T=2, C=3, 16, 20] inputs (T,C,H,W as AugMix sees them): values in [0,1] / raw 0..1200
  op.<range>.<Op>.<k>     the output of one AugMix operation; its argument in metadata arg.<Op>.<k>
  mix.<range>             AugMix mix of a fixed plan (metadata 'plan', JSON) on op.in.<range>
  chain.val.rows          val chain (Normalize, ShortSideScale 264, CenterCrop 224, Div255) of the synthetic clip
                          (see synth() — Go rebuilds it; 3 identical channels, 2 frames of 360x360), rows ROWS only
  chain.train.rows        train chain at fixed parameters (AugMix plan, size 301, crop (37,60), flip) on the same clip
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
import torchvision.transforms.functional_tensor as F_t

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

torch.set_num_threads(1)
FILL = [0.5, 0.5, 0.5]
OPS = ['AutoContrast', 'Equalize', 'Rotate', 'Posterize', 'Solarize', 'ShearX', 'ShearY', 'TranslateX',
       'TranslateY', 'AdjustSaturation', 'AdjustContrast', 'AdjustBrightness', 'AdjustSharpness']


def op(name, v, arg):
    """One pytorchvideo 0.1.3 AugMix operation on a float (T,C,H,W) video (its augmentations.py semantics)."""
    if name == 'AutoContrast':
        return F.autocontrast(v)
    if name == 'Equalize':
        return (F.equalize((v * 255).to(torch.uint8)) / 255).to(v.dtype)
    if name == 'Rotate':
        return F.rotate(v, arg, fill=FILL, interpolation=F.InterpolationMode.BILINEAR)
    if name == 'Posterize':
        return (F.posterize((v * 255).to(torch.uint8), int(arg)) / 255).to(v.dtype)
    if name == 'Solarize':
        return F.solarize(v, arg)
    if name == 'ShearX':
        return F_t.affine(v, [1, arg, v.size(-2) * arg / 2, 0, 1, 0], fill=FILL, interpolation='bilinear')
    if name == 'ShearY':
        return F_t.affine(v, [1, 0, 0, arg, 1, v.size(-1) * arg / 2], fill=FILL, interpolation='bilinear')
    if name == 'TranslateX':
        return F_t.affine(v, [1, 0, arg * v.size(-1), 0, 1, 0], fill=FILL, interpolation='bilinear')
    if name == 'TranslateY':
        return F_t.affine(v, [1, 0, 0, 0, 1, arg * v.size(-2)], fill=FILL, interpolation='bilinear')
    if name == 'AdjustSaturation':
        return F.adjust_saturation(v, arg)
    if name == 'AdjustContrast':
        return F.adjust_contrast(v, arg)
    if name == 'AdjustBrightness':
        return F.adjust_brightness(v, arg)
    if name == 'AdjustSharpness':
        return F.adjust_sharpness(v, arg)
    raise ValueError(name)


def augmix(v, plan):
    """pytorchvideo AugMix.__call__ with the random draws replaced by a plan."""
    mixed = torch.zeros(v.shape, dtype=torch.float32)
    for mw, chain in zip(torch.tensor(plan['weights'], dtype=torch.float32), plan['chains']):
        x = v
        for name, arg in chain:
            x = op(name, x, arg)
        mixed += mw * x
    m = plan['m']
    return m * v + (1 - m) * mixed


def temporal_idx(t, n=16):
    return torch.clamp(torch.linspace(0, t - 1, n), 0, t - 1).long()


def short_side_scale(x, size):  # (C,T,H,W) float32
    c, t, h, w = x.shape
    if w < h:
        nh, nw = int(math.floor((float(h) / w) * size)), size
    else:
        nh, nw = size, int(math.floor((float(w) / h) * size))
    return torch.nn.functional.interpolate(x, size=(nh, nw), mode='bilinear', align_corners=False)


def normalize(x):  # pytorchvideo Normalize: torchvision normalize on (T,C,H,W)
    return F.normalize(x.permute(1, 0, 2, 3), [0.45] * 3, [0.225] * 3).permute(1, 0, 2, 3)


def synth():
    """The synthetic uint8-valued clip Go rebuilds (train/data synthClip): (C=3 identical, T=2, 360, 360)."""
    y, x = np.meshgrid(np.arange(360), np.arange(360), indexing='ij')
    frames = [((y * 37 + x * 11 + t * 101 + (x * y) // 97) % 256) for t in range(2)]
    v = np.stack(frames).astype(np.float32)  # [T,H,W]
    return torch.from_numpy(np.stack([v, v, v]))  # [C,T,H,W]


ROWS = [0, 1, 2, 57, 111, 112, 113, 150, 200, 222, 223]

def main():
    out, meta = {}, {'torch': torch.__version__, 'torchvision': torchvision.__version__}
    out['temporal_idx'] = torch.stack([temporal_idx(t) for t in range(1, 301)]).to(torch.int32)

    g = torch.Generator().manual_seed(20240611)
    unit = torch.rand(2, 3, 16, 20, generator=g)
    unit[0, 0, 0, :4] = torch.tensor([0.0, 1.0, 0.5, 0.25])   # exact edge values
    unit[1, 2] = 0.3  # a constant plane (autocontrast / equalize degenerate case)
    raw = torch.floor(torch.rand(2, 3, 16, 20, generator=g) * 1200) + torch.rand(2, 3, 16, 20, generator=g).round() * 0.5
    raw[0, 1, 3, :3] = torch.tensor([-3.7, 65025.0 / 255, 1e6])  # negative / exact / huge: the uint8 wrap
    inputs = {'unit': unit, 'raw': raw}
    args = {'AutoContrast': [0], 'Equalize': [0], 'Rotate': [7.5, -21.0], 'Posterize': [4, 3], 'Solarize': [0.71, 0.99],
            'ShearX': [0.21, -0.09], 'ShearY': [-0.27, 0.12], 'TranslateX': [0.3, -0.07], 'TranslateY': [-0.25, 0.11],
            'AdjustSaturation': [0.28, 0.64], 'AdjustContrast': [0.154, 0.61], 'AdjustBrightness': [0.37, 0.64],
            'AdjustSharpness': [0.19, 0.55]}
    for rng_name, v in inputs.items():
        out[f'op.in.{rng_name}'] = v
        for name in OPS:
            for k, a in enumerate(args[name]):
                out[f'op.{rng_name}.{name}.{k}'] = op(name, v.clone(), a)
                meta[f'arg.{name}.{k}'] = repr(float(a))

    # A plan in the shape DrawAugMix produces; discontinuous operations (Equalize, Posterize, Solarize) come first in
    # their chains so that float rounding upstream cannot flip their uint8 casts or threshold tests.
    plan = {'weights': [0.5123, 0.1877, 0.3], 'm': 0.3141592,
            'chains': [[['Equalize', 0], ['Rotate', -12.25], ['AdjustContrast', 0.37]],
                       [['Posterize', 3], ['ShearY', 0.14]],
                       [['Solarize', 0.8], ['TranslateX', -0.2], ['AdjustSharpness', 0.46]]]}
    meta['plan'] = json.dumps(plan)
    for rng_name, v in inputs.items():
        out[f'mix.{rng_name}'] = augmix(v.clone(), plan)

    x = synth()
    idx = temporal_idx(2, 2)
    assert idx.tolist() == [0, 1]
    val = short_side_scale(normalize(x), 264)
    top = int(round((val.shape[-2] - 224) / 2.0))
    left = int(round((val.shape[-1] - 224) / 2.0))
    val = val[..., top:top + 224, left:left + 224] / 255.0
    out['chain.val.rows'] = val[:, :, ROWS, :].contiguous()

    train_plan = {'weights': [0.25, 0.6, 0.15], 'm': 0.42,
                  'chains': [[['AdjustBrightness', 0.5], ['Rotate', 9.0]], [['AutoContrast', 0]],
                             [['TranslateY', 0.15], ['ShearX', -0.2], ['AdjustSaturation', 0.3]]]}
    meta['train_plan'] = json.dumps(train_plan)
    y = augmix(x.permute(1, 0, 2, 3).clone(), train_plan).permute(1, 0, 2, 3)
    y = short_side_scale(normalize(y), 301)
    y = y[..., 37:37 + 224, 60:60 + 224]
    y = torch.flip(y, [-1]) / 255.0
    out['chain.train.rows'] = y[:, :, ROWS, :].contiguous()
    meta['rows'] = json.dumps(ROWS)

    st_io.save(sys.argv[1], out, meta)
    print('wrote', sys.argv[1], os.path.getsize(sys.argv[1]), 'bytes;', len(out), 'tensors')


if __name__ == '__main__':
    main()
