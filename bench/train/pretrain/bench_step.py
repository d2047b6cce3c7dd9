#!/usr/bin/env python3
"""Times one contrastive pretraining step in torch 1.13 (Debian), the counterpart of train/pretrain's benchmarks.

Run (apt: python3-torch python3-torchvision python3-numpy libopenblas0-pthread), from the repository root:
    /usr/bin/python3 bench/train/pretrain/bench_step.py tiny train 16 [reps=5] [threads=2]
    /usr/bin/python3 bench/train/pretrain/bench_step.py full forward 2 [reps=3] [threads=2]
Prints one JSON line: {"torch", "preset", "mode", "batch", "threads", "median_s", "cpu_s_median" (process CPU seconds), "min_s", "times_s"}.
train/pretrain's BenchmarkTorch* run this in the same `go test -bench` run as the Go benchmarks.

The models are the same as cmrfm's presets, built from the repository's torch references:
  tiny: torchvision MViT with the tiny config of testdata/gen/model/mvit/mvit_ref.py (3x4x32x32, widths 8-32, head
        dropout 0), BERT of testdata/gen/model/bert/bert_ref.py with 2 layers x 64 (4 heads, FFN 128) over the 30,522-token
        vocabulary, 48 tokens, mean pooling, dropout 0; projections to 64;
  full: torchvision mvit_v1_b (head removed; 3x16x224x224) and BERT-base (128 tokens), CLS pooling, projections to
        512, dropout as in the paper's towers (eval mode for forward).
A train step is forward + asymmetric InfoNCE (lambda 0.75, tau 0.1) with flooding (b 0.05) + backward + AdamW
(lr 1e-3, wd 1e-6); forward is the two towers, projections and loss under inference_mode.
"""
import json
import os
import statistics
import sys
import time

threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(threads))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torchvision.models.video import mvit as mv  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', '..', 'testdata', 'gen', 'model', 'mvit'))
sys.path.insert(0, os.path.join(here, '..', '..', '..', 'testdata', 'gen', 'model', 'bert'))
import mvit_ref  # noqa: E402
import bert_ref  # noqa: E402

torch.set_num_threads(threads)
preset, mode, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
torch.manual_seed(0)

if preset == 'tiny':
    video = mvit_ref.tiny_model(0)
    video.head = nn.Identity()
    tcfg = bert_ref.Cfg(vocab=30522, hidden=64, layers=2, heads=4, inter=128, max_pos=128)
    frames, size, seq, dim, vdim, pool = 4, 32, 48, 64, 32, 'mean'
else:
    video = mv.mvit_v1_b()
    video.head = nn.Identity()
    tcfg = bert_ref.BERT_BASE
    frames, size, seq, dim, vdim, pool = 16, 224, 128, 512, 768, 'cls'
text = bert_ref.Bert(tcfg)
vproj, tproj = nn.Linear(vdim, dim), nn.Linear(tcfg.hidden, dim)
if preset == 'tiny':
    for m in text.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
params = list(video.parameters()) + list(text.parameters()) + list(vproj.parameters()) + list(tproj.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-6, eps=1e-8)

clips = torch.randn(batch, 3, frames, size, size)
ids = torch.randint(5, tcfg.vocab, (batch, seq))
mask = torch.ones(batch, seq, dtype=torch.long)
mask[1::2, seq // 2:] = 0
tt = torch.zeros_like(ids)


def loss_fn():
    v = F.normalize(vproj(video(clips)), dim=1)
    hs, pooled = text(ids, tt, mask)
    h = hs[-1]
    if pool == 'mean':
        m = mask[:, :, None].float()
        u = (h * m).sum(1) / m.sum(1)
    else:
        u = h[:, 0]
    u = F.normalize(tproj(u), dim=1)
    s = 10.0 * v @ u.T
    tgt = torch.arange(batch)
    raw = (0.75 * F.cross_entropy(s, tgt) + 0.25 * F.cross_entropy(s.T, tgt))
    return (raw - 0.05).abs() + 0.05


def step():
    if mode == 'train':
        video.train(), text.train()
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()
    else:
        video.eval(), text.eval()
        with torch.inference_mode():
            loss_fn()


step()  # warm-up
times, cpus = [], []
for _ in range(reps):
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
print(json.dumps({'torch': torch.__version__, 'preset': preset, 'mode': mode, 'batch': batch, 'threads': threads,
                  'median_s': statistics.median(times), 'cpu_s_median': statistics.median(cpus), 'min_s': min(times), 'times_s': times}))
