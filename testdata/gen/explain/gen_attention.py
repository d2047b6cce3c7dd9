#!/usr/bin/python3
"""Golden attention renderings and rollout for explain/attention_test.go.

Independent of the Go code: the head maps are computed, upsampled and coloured exactly as the
authors' visualize_attentions.py does it (attention[:, 1:, 0], torch F.interpolate(mode='nearest'),
matplotlib imshow(frame / 225, cmap) with autoscale, i.e. Normalize + Colormap(bytes=True) per
frame), and the rollout is the dense-matrix product of Abnar & Zuidema (2020) with each block's
pooled keys and pooled residual spread evenly over the input tokens of their pooling windows.

Geometry: cmrfm's mvit-tiny (testdata/gen/mvit): input 3x4x32x32, patch grid 2x8x8, blocks
  0: 1 head,  kv kernel 3^3 stride (1,4,4) pad 1                      q 2x8x8  kv 2x2x2
  1: 2 heads, q/kv kernel 3^3 stride (1,2,2), skip max-pool (1,3,3)/(1,2,2) pad (0,1,1)  q 2x4x4 kv 2x4x4
  2: 2 heads, kv kernel 3^3 stride 1                                    q 2x4x4  kv 2x4x4
  3: 4 heads, q stride (1,2,2) + skip pool, kv stride 1                 q 2x2x2  kv 2x4x4
Rendering is checked on a 4x16x16 display grid (the maps need not come from the model's input size).

Debian python3-torch 1.13, python3-matplotlib 3.6.3, numpy 1.24. Deterministic (seeded).
Run from the repository root: /usr/bin/python3 testdata/gen/explain/gen_attention.py
"""
import os
import sys

import matplotlib
import numpy as np
import torch
from matplotlib import cm, colors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import st_io  # noqa: E402

OUT = "explain/testdata/attention_golden.safetensors"
rng = np.random.default_rng(2024)

PATCH = (2, 8, 8)
BLOCKS = [  # heads, in, q, kv, kv window (k, s, p) or None, skip window or None
    (1, (2, 8, 8), (2, 8, 8), (2, 2, 2), ((3, 3, 3), (1, 4, 4), (1, 1, 1)), None),
    (2, (2, 8, 8), (2, 4, 4), (2, 4, 4), ((3, 3, 3), (1, 2, 2), (1, 1, 1)), ((1, 3, 3), (1, 2, 2), (0, 1, 1))),
    (2, (2, 4, 4), (2, 4, 4), (2, 4, 4), ((3, 3, 3), (1, 1, 1), (1, 1, 1)), None),
    (4, (2, 4, 4), (2, 2, 2), (2, 4, 4), ((3, 3, 3), (1, 1, 1), (1, 1, 1)), ((1, 3, 3), (1, 2, 2), (0, 1, 1))),
]
DISPLAY = (4, 16, 16)


def ntok(g):
    return g[0] * g[1] * g[2]


def softmax_rows(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def pool_matrix(win, grid_in, grid_out):
    """[1+N_out, 1+N_in]: CLS to CLS; each output cell spread evenly over its window's valid inputs."""
    n_in = ntok(grid_in)
    if win is None:
        return np.eye(n_in + 1)
    k, s, p = win
    P = np.zeros((ntok(grid_out) + 1, n_in + 1))
    P[0, 0] = 1
    o = 1
    for t in range(grid_out[0]):
        for h in range(grid_out[1]):
            for w in range(grid_out[2]):
                cells = []
                for a in range(t * s[0] - p[0], t * s[0] - p[0] + k[0]):
                    for b in range(h * s[1] - p[1], h * s[1] - p[1] + k[1]):
                        for c in range(w * s[2] - p[2], w * s[2] - p[2] + k[2]):
                            if 0 <= a < grid_in[0] and 0 <= b < grid_in[1] and 0 <= c < grid_in[2]:
                                cells.append(1 + (a * grid_in[1] + b) * grid_in[2] + c)
                P[o, cells] = 1 / len(cells)
                o += 1
    return P


def render_indices(vol, per_frame=True):
    """vol [T, H, W] float32 -> colour-map indices as matplotlib's imshow(frame/225) autoscale."""
    cmap = cm.get_cmap("magma")
    lut = cmap(np.arange(256), bytes=True)[:, :3]
    out = np.zeros(vol.shape, np.uint8)
    frames = [vol[i] / 225 for i in range(vol.shape[0])]
    if per_frame:
        for i, f in enumerate(frames):
            rgb = cmap(colors.Normalize()(f), bytes=True)[..., :3]
            out[i] = index_of(rgb, lut)
    else:
        v = vol / 225
        rgb = cmap(colors.Normalize()(v), bytes=True)[..., :3]
        out[:] = index_of(rgb, lut)
    return out


def index_of(rgb, lut):
    # magma's 256 uint8 colours are distinct, so the colour identifies the index.
    keys = {tuple(c): i for i, c in enumerate(lut)}
    assert len(keys) == 256
    return np.vectorize(lambda *c: keys[c])(rgb[..., 0], rgb[..., 1], rgb[..., 2]).astype(np.uint8)


def nearest(x, size):
    return torch.nn.functional.interpolate(torch.from_numpy(x)[None, None], size=size, mode="nearest")[0, 0].numpy()


def main():
    t = {}
    attn = []
    for i, (heads, gin, gq, gkv, _, _) in enumerate(BLOCKS):
        a = softmax_rows(rng.normal(0, 2, (heads, ntok(gq) + 1, ntok(gkv) + 1))).astype(np.float32)
        attn.append(a)
        t["layer_%02d" % i] = a
    # Rollout, dense.
    R = None
    for i, (heads, gin, gq, gkv, kvw, skw) in enumerate(BLOCKS):
        abar = attn[i].astype(np.float64).mean(0)
        M = 0.5 * abar @ pool_matrix(kvw, gin, gkv) + 0.5 * pool_matrix(skw, gin, gq)
        assert np.allclose(M.sum(1), 1)
        R = M if R is None else M @ R
    t["rollout"] = R[0, 1:].astype(np.float64)
    # Head maps as the reference renders them, on the display grid.
    clip = rng.normal(0, 1, (3,) + DISPLAY).astype(np.float32)
    t["input_video"] = clip
    gray = cm.get_cmap("gist_gray")
    t["input_rgb"] = np.stack([gray(colors.Normalize()(clip[1, i] / 225), bytes=True)[..., :3] for i in range(DISPLAY[0])])
    k = 0
    for i, (heads, gin, gq, gkv, _, _) in enumerate(BLOCKS):
        maps = attn[i][:, 1:, 0].reshape((heads,) + gq)
        for h in range(heads):
            up = torch.nn.functional.interpolate(torch.from_numpy(maps[h:h + 1])[None], size=DISPLAY, mode="nearest")[0, 0].numpy()
            t["heat_frame_%02d_%02d" % (i, h)] = render_indices(up, True)
            t["heat_video_%02d_%02d" % (i, h)] = render_indices(up, False)
            k += 1
    cmap = cm.get_cmap("magma")
    up = torch.nn.functional.interpolate(torch.from_numpy(attn[0][:, 1:, 0].reshape((1,) + BLOCKS[0][2]))[None], size=DISPLAY, mode="nearest")[0, 0].numpy()
    t["heat_rgb_00_00"] = np.stack([cmap(colors.Normalize()(up[i] / 225), bytes=True)[..., :3] for i in range(DISPLAY[0])])
    # A map with a constant frame (matplotlib maps it to index 0) and an odd-sized grid to upsample.
    const = rng.random((2, 8, 8)).astype(np.float32)
    const[0] = 0.125
    t["const_map"] = const
    t["const_indices"] = render_indices(nearest(const, DISPLAY), True)
    odd = rng.random((3, 5, 7)).astype(np.float32)
    t["odd_map"] = odd
    t["odd_up"] = nearest(odd, DISPLAY)
    st_io.save(OUT, t, {"generator": "testdata/gen/explain/gen_attention.py", "torch": torch.__version__,
                         "matplotlib": matplotlib.__version__, "numpy": np.__version__})
    print("wrote", OUT, os.path.getsize(OUT), "bytes,", k, "heads")


if __name__ == "__main__":
    main()
