#!/usr/bin/env python3
"""Golden fixture for cmrfm's fine-tuning step (train/finetune): projection + multi-instance head trained with AdamW
on fixed encoder features, in torch 1.13 (Debian python3-torch).

Usage (from the repository root; ~1 s):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/train/finetune/gen_step.py train/finetune/testdata/step_golden.safetensors

The model restates docs/reference.md §3.2-3.6 as testdata/gen/model/heads/gen_heads.py does (same module tree, so
parameter names are the authors' Lightning keys after 'classifier_head.'): video_proj = Linear(IN -> E) followed by
F.normalize, then Multiview_Attention (Linear E->H, ReLU, Dropout, Linear H->H, ReLU, Dropout, Attn_Net_Gated with
optional LayerNorm, softmax over the bag, attention pooling, Dropout, Linear H->C), regression output 100*logit. Sizes
are reduced (IN 24, E 16, H 12, A 8). Dropout is disabled (eval()) so the numbers are deterministic; the optimiser is
what the reference's configure_optimizers builds, but (except in case "bug") over the projection AND the head.

Batches are one bag each, as the reference (batch_size 1): features A (5 clips) and B (3 clips), fixed; updates on
A, B, A. Cases:
  reg  - regression, target LVEF 31.5 (A) and 64.0 (B), HuberLoss(delta=1) on 100*logit, AdamW lr 1e-4, wd 0.01
  cls  - two labels, LayerNorm, BCEWithLogits(pos_weight=[2.5, 0.7]), targets A [1, 0], B [0, 1], AdamW lr 1e-4, wd 5e-4
  bug  - as reg, but the optimiser holds only the projection (the authors' bug: the MIL head is never optimised)
Stored per case: c.init.<name> (parameters before training; projection as proj.weight/bias), c.loss [3] (loss
before each update), c.step<k>.<name> (parameters after update k), c.grad0.<name> (gradients of the first update),
and the shared inputs featA [5,24], featB [3,24].
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

torch.set_num_threads(1)
IN, E, H, A = 24, 16, 12, 8


class AttnNetGated(nn.Module):
    def __init__(self, L, D, ln):
        super().__init__()
        self.normalize = ln
        if ln:
            self.layernorm = nn.LayerNorm(L)
        self.attention_a = nn.Sequential(nn.Linear(L, D), nn.Tanh())
        self.attention_b = nn.Sequential(nn.Linear(L, D), nn.Sigmoid())
        self.attention_c = nn.Linear(D, 1)

    def forward(self, x):
        if self.normalize:
            x = self.layernorm(x)
        return self.attention_c(self.attention_a(x).mul(self.attention_b(x))), x


class FC(nn.Module):
    def __init__(self, h, c):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(h, c))


class Head(nn.Module):
    def __init__(self, c, ln, regression):
        super().__init__()
        self.attention_net = nn.Sequential(nn.Linear(E, H), nn.ReLU(), nn.Dropout(0.25), nn.Linear(H, H), nn.ReLU(),
                                           nn.Dropout(0.25), AttnNetGated(H, A, ln))
        self.drop = nn.Dropout(0.25)
        self.classifier_head = FC(H, c)
        self.regression = regression
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                m.bias.data.zero_()
        if regression:
            self.classifier_head.fc[0].bias.data.fill_(0.57)

    def forward(self, h):
        A_, x = self.attention_net(h)
        att = F.softmax(A_.t(), dim=1)
        logits = self.classifier_head.fc(self.drop(att @ x))
        return 100 * logits if self.regression else logits


def perturb(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


g = torch.Generator().manual_seed(11)
featA = torch.randn(5, IN, generator=g)
featB = torch.randn(3, IN, generator=g)
out = {'featA': featA, 'featB': featB}

for case, c, ln, reg, wd, seed in [('reg', 1, False, True, 0.01, 1), ('cls', 2, True, False, 5e-4, 2),
                                   ('bug', 1, False, True, 0.01, 1)]:
    torch.manual_seed(seed)
    proj = nn.Linear(IN, E)
    head = Head(c, ln, reg).eval()
    perturb(proj, seed + 10)
    perturb(head, seed + 20)
    if reg:
        targets = {'A': torch.tensor([[31.5]]), 'B': torch.tensor([[64.0]])}
        lossf = nn.HuberLoss(delta=1.0)
    else:
        targets = {'A': torch.tensor([[1.0, 0.0]]), 'B': torch.tensor([[0.0, 1.0]])}
        lossf = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.5, 0.7]))
    params = list(proj.parameters()) + ([] if case == 'bug' else list(head.parameters()))
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)

    def named():
        for n, p in head.named_parameters():
            yield n, p
        for n, p in proj.named_parameters():
            yield 'proj.' + n, p

    for n, p in named():
        out[f'{case}.init.{n}'] = p.detach().clone()
    losses = []
    for k, bag in enumerate(['A', 'B', 'A']):
        feats = featA if bag == 'A' else featB
        opt.zero_grad()
        pred = head(F.normalize(proj(feats), dim=1))
        loss = lossf(pred, targets[bag])
        losses.append(loss.item())
        loss.backward()
        if k == 0:
            for n, p in named():
                out[f'{case}.grad0.{n}'] = p.grad.detach().clone()
        opt.step()
        for n, p in named():
            out[f'{case}.step{k + 1}.{n}'] = p.detach().clone()
    out[f'{case}.loss'] = torch.tensor(losses, dtype=torch.float32)
    for bag in 'AB':
        out[f'{case}.target{bag}'] = targets[bag]

st_io.save(sys.argv[1], out, {'torch': torch.__version__})
