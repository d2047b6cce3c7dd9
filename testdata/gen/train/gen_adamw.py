#!/usr/bin/env python3
"""Golden fixture for cmrfm's training core (package train): torch 1.13's AdamW, clip_grad_norm_, gradient
accumulation and learning-rate schedulers (Debian python3-torch).

Usage (from the repository root; ~1 s):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/train/gen_adamw.py train/testdata/adamw_golden.safetensors

Model: h = tanh(LayerNorm_5(Linear_4->5(x))) (eps 1e-5), out = Linear_5->1(h), loss = mean((out - y)^2), on x [6,4],
y [6,1]. Parameters start from torch.randn * 0.5 (seed 7) and are stored as init.<name>.

Case "all" (the authors' optimiser: AdamW over every parameter): lr 0.05, weight decay 0.1, betas (0.9, 0.999), eps
1e-8; three full-batch updates with learning rates 0.05, 0.05, 0.005 (set on the param group, as a scheduler would).
Stored: all.loss [3] (loss before each update), all.step<k>.<name> (parameters after update k).

Case "matrices": weight decay 0.1 on the two Linear weights only (biases and LayerNorm in a wd=0 group),
clip_grad_norm_(max_norm=0.1), two micro-batches per update (x[:3], x[3:]; each loss / 2 before backward, as
Lightning's accumulate_grad_batches=2), two updates at lr 0.05. Stored: matrices.norm [2] (clip_grad_norm_'s total
norm), matrices.step<k>.<name>.

Schedules (float64 learning-rate sequences, base 1.0, scheduler.step() once per epoch, value before each epoch):
sched.steplr_half (StepLR step_size=0.5, gamma=0.1, 5 epochs), sched.steplr_4 (StepLR 4, 0.1, 12 epochs),
sched.multistep (MultiStepLR [3, 6], gamma 0.5, 8 epochs).
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

warnings.filterwarnings('ignore')
torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 5)
        self.ln = nn.LayerNorm(5)
        self.l2 = nn.Linear(5, 1)

    def forward(self, x):
        return self.l2(torch.tanh(self.ln(self.l1(x))))


g = torch.Generator().manual_seed(7)
init = {}
proto = Net()
for name, p in proto.named_parameters():
    init[name] = (0.5 * torch.randn(p.shape, generator=g)).float()
x = torch.randn(6, 4, generator=g)
y = torch.randn(6, 1, generator=g)
out = {'x': x, 'y': y}
for name, v in init.items():
    out['init.' + name] = v


def fresh():
    m = Net()
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(init[name])
    return m


# Case "all".
m = fresh()
opt = torch.optim.AdamW(m.parameters(), lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
losses = []
for k, lr in enumerate([0.05, 0.05, 0.005]):
    for grp in opt.param_groups:
        grp['lr'] = lr
    opt.zero_grad()
    loss = ((m(x) - y) ** 2).mean()
    losses.append(loss.item())
    loss.backward()
    opt.step()
    for name, p in m.named_parameters():
        out[f'all.step{k + 1}.{name}'] = p.detach().clone()
out['all.loss'] = torch.tensor(losses, dtype=torch.float32)

# Case "matrices".
m = fresh()
decay = [p for n, p in m.named_parameters() if n in ('l1.weight', 'l2.weight')]
other = [p for n, p in m.named_parameters() if n not in ('l1.weight', 'l2.weight')]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': other, 'weight_decay': 0.0}],
                        lr=0.05, betas=(0.9, 0.999), eps=1e-8)
norms = []
for k in range(2):
    opt.zero_grad()
    for part in (slice(0, 3), slice(3, 6)):
        loss = ((m(x[part]) - y[part]) ** 2).mean() / 2
        loss.backward()
    norms.append(torch.nn.utils.clip_grad_norm_(m.parameters(), 0.1).item())
    opt.step()
    for name, p in m.named_parameters():
        out[f'matrices.step{k + 1}.{name}'] = p.detach().clone()
out['matrices.norm'] = torch.tensor(norms, dtype=torch.float32)


def lrs(make, epochs):
    p = nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=1.0)
    s = make(o)
    seq = []
    for _ in range(epochs):
        seq.append(o.param_groups[0]['lr'])
        o.step()
        s.step()
    return np.array(seq, dtype=np.float64)


out['sched.steplr_half'] = lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=0.5, gamma=0.1), 5)
out['sched.steplr_4'] = lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.1), 12)
out['sched.multistep'] = lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 6], gamma=0.5), 8)

st_io.save(sys.argv[1], out, {'torch': torch.__version__})
