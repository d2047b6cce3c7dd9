#!/usr/bin/env python3
"""Times one fine-tuning step in torch 1.13 (Debian), the counterpart of train/finetune's BenchmarkStepTiny*.

Run (apt: python3-torch python3-torchvision python3-numpy), from the repository root:
    /usr/bin/python3 bench/train/finetune/bench_step.py transfer|finetune [clips=8] [reps=10] [threads=1]
Prints one JSON line: {"torch", "mode", "clips", "threads", "median_s", "cpu_s_median" (process CPU seconds), "min_s", "times_s"}.
train/finetune's BenchmarkTorchStep* run this in the same `go test -bench` run as the Go benchmarks.

The model is the tiny-lvef preset: torchvision MViT with the tiny config of testdata/gen/model/mvit/mvit_ref.py
(3x4x32x32, widths 8-32, head removed, dropout 0), projection Linear(32 -> 64) + L2 normalisation, and the
reference's Multiview_Attention head (testdata/gen/train/finetune/gen_step.py's module tree, widths 64 -> 32 -> 16,
dropout 0, bias 0.57, 100*logit). One step is one bag of `clips` clips (one study, batch 1 as the reference):
forward, HuberLoss(delta=1) against an LVEF, backward and AdamW (lr 1e-3, wd 0.01). transfer trains everything;
finetune freezes the encoder (its forward under no_grad) and trains the projection and head.
"""
import json
import os
import statistics
import sys
import time

threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(threads))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', '..', 'testdata', 'gen', 'model', 'mvit'))
import mvit_ref  # noqa: E402

torch.set_num_threads(threads)
mode = sys.argv[1]
clips = int(sys.argv[2]) if len(sys.argv) > 2 else 8
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
torch.manual_seed(0)
E, H, A = 64, 32, 16


class AttnNetGated(nn.Module):
    def __init__(self, L, D):
        super().__init__()
        self.attention_a = nn.Sequential(nn.Linear(L, D), nn.Tanh())
        self.attention_b = nn.Sequential(nn.Linear(L, D), nn.Sigmoid())
        self.attention_c = nn.Linear(D, 1)

    def forward(self, x):
        return self.attention_c(self.attention_a(x).mul(self.attention_b(x))), x


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_net = nn.Sequential(nn.Linear(E, H), nn.ReLU(), nn.Dropout(0.0), nn.Linear(H, H), nn.ReLU(),
                                           nn.Dropout(0.0), AttnNetGated(H, A))
        self.fc = nn.Linear(H, 1)
        self.fc.bias.data.fill_(0.57)

    def forward(self, h):
        a, x = self.attention_net(h)
        att = F.softmax(a.t(), dim=1)
        return 100 * self.fc(att @ x)


video = mvit_ref.tiny_model(0)
video.head = nn.Identity()
proj, head = nn.Linear(32, E), Head()
params = list(proj.parameters()) + list(head.parameters())
if mode == 'transfer':
    params += list(video.parameters())
else:
    for p in video.parameters():
        p.requires_grad_(False)
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, eps=1e-8)
x = torch.randn(clips, 3, 4, 32, 32)
y = torch.tensor([[55.0]])
lossf = nn.HuberLoss(delta=1.0)


def step():
    video.train(), head.train()
    opt.zero_grad(set_to_none=True)
    if mode == 'transfer':
        f = video(x)
    else:
        with torch.no_grad():
            f = video(x)
    loss = lossf(head(F.normalize(proj(f), dim=1)), y)
    loss.backward()
    opt.step()


step()  # warm-up
times, cpus = [], []
for _ in range(reps):
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
print(json.dumps({'torch': torch.__version__, 'mode': mode, 'clips': clips, 'threads': threads,
                  'median_s': statistics.median(times), 'cpu_s_median': statistics.median(cpus), 'min_s': min(times), 'times_s': times}))
