#!/usr/bin/env python3
"""Full-size MViT-B 16x4 reference for cmrfm's interop check and speed comparison (not part of `go test`).

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/mvit/full_mvit.py OUTDIR [golden|time|train]
  golden  torchvision mvit_v1_b (36.6 M params) with EVERY parameter perturbed N(0, 0.02^2), seed 0; writes
          OUTDIR/mvit_v1_b.safetensors (torchvision names, ~147 MB), OUTDIR/input.npy [1,3,16,224,224] and
          OUTDIR/golden.safetensors: features [1,768] (final-norm CLS token) and attn.blockNN [1,heads,Nq,Nk]
          for all 16 blocks (~300 MB).
  time    median of REPS (default 3) forward passes at 1x3x16x224x224 with torch.set_num_threads(THREADS, default 1);
          prints a JSON line with wall and process-CPU seconds.
  train   median time of one training step (forward + backward of sum(features)) on the small config
          (MViT-B blocks, 3x8x64x64 clips, batch 2); prints a JSON line.
  onnx    exports the golden model without its Kinetics head (output: the 768-d features) with torch.onnx,
          opset 14, to OUTDIR/mvit_v1_b_features.onnx (~147 MB), for onnxruntime timing (bench/ort_mvit.mjs);
          checks torch's own output of the exported model against golden.safetensors.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torchvision.models.video as tvv
from torchvision.models.video import mvit as mv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import mvit_ref  # noqa: E402
import st_io  # noqa: E402

out, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'golden')
os.makedirs(out, exist_ok=True)
torch.set_num_threads(int(os.environ.get('THREADS', '1')))
reps = int(os.environ.get('REPS', '3'))


def perturbed_full():
    torch.manual_seed(0)
    return mvit_ref.perturb(tvv.mvit_v1_b(weights=None), 7).eval()


if mode == 'golden':
    m = perturbed_full()
    torch.manual_seed(1)
    x = torch.randn(1, 3, 16, 224, 224)
    with torch.no_grad():
        acts = mvit_ref.run_capture(m, x)
    st_io.save(f'{out}/mvit_v1_b.safetensors', m.state_dict(), {'model': 'torchvision.mvit_v1_b', 'perturb_seed': 7})
    np.save(f'{out}/input.npy', x.numpy())
    g = {'features': acts['features']}
    for i in range(16):
        g[f'attn.block{i:02d}'] = acts[f'attn.block{i:02d}']
    st_io.save(f'{out}/golden.safetensors', g, {'torch': torch.__version__})
    print(json.dumps({'wrote': out, 'params': sum(p.numel() for p in m.parameters())}))
elif mode == 'time':
    m = perturbed_full()
    x = torch.randn(1, 3, 16, 224, 224)
    with torch.inference_mode():
        m(x)
        ts, cs = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            m(x)
            ts.append(time.perf_counter() - t0)
            cs.append(time.process_time() - c0)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'forward_s_median': statistics.median(ts),
                      'forward_s_all': [round(t, 3) for t in ts], 'cpu_s_median': statistics.median(cs)}))
elif mode == 'onnx':
    import warnings
    warnings.filterwarnings('ignore')
    m = tvv.mvit_v1_b(weights=None)
    sd, _ = st_io.load(f'{out}/mvit_v1_b.safetensors')
    m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in sd.items()})
    m.head = torch.nn.Identity()  # features: the final-norm CLS token
    m.eval()
    x = torch.from_numpy(np.load(f'{out}/input.npy'))
    g, _ = st_io.load(f'{out}/golden.safetensors')
    with torch.no_grad():
        diff = float((m(x) - torch.from_numpy(g['features'])).abs().max())
        torch.onnx.export(m, x, f'{out}/mvit_v1_b_features.onnx', opset_version=14, input_names=['x'],
                          output_names=['features'])
    print(json.dumps({'wrote': f'{out}/mvit_v1_b_features.onnx', 'torch_vs_golden_max_abs': diff}))
elif mode == 'train':
    cfg = [mv.MSBlockConfig(h, i, o, kq, kkv, sq, skv) for h, i, o, kq, kkv, sq, skv in zip(
        [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8],
        [96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768],
        [192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768, 768],
        [[] if i not in (1, 3, 14) else [3, 3, 3] for i in range(16)], [[3, 3, 3]] * 16,
        [[] if i not in (1, 3, 14) else [1, 2, 2] for i in range(16)],
        [[1, s, s] for s in [8, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1]])]
    torch.manual_seed(0)
    m = mv.MViT(spatial_size=(64, 64), temporal_size=8, block_setting=cfg, residual_pool=False,
                residual_with_cls_embed=False, rel_pos_embed=False, proj_after_attn=False, num_classes=1, dropout=0.0)
    m.train()
    x = torch.randn(2, 3, 8, 64, 64)

    def step():
        m.zero_grad()
        feats = m.norm(m_forward_tokens(x))[:, 0]
        feats.sum().backward()

    def m_forward_tokens(x):
        h = m.conv_proj(x).flatten(2).transpose(1, 2)
        h = m.pos_encoding(h)
        thw = (m.pos_encoding.temporal_size,) + m.pos_encoding.spatial_size
        for b in m.blocks:
            h, thw = b(h, thw)
        return h

    step()
    ts, cs = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'train_step_s_median': statistics.median(ts),
                      'train_step_s_all': [round(t, 3) for t in ts], 'cpu_s_median': statistics.median(cs),
                      'params': sum(p.numel() for p in m.parameters())}))
