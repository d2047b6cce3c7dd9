#!/usr/bin/env python3
"""Golden fixture for cmrfm's model/heads: the multi-instance gated-attention head in torch 1.13 (Debian).

Usage (from the repository root; ~2 s):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/heads/gen_heads.py model/heads/testdata/heads_golden.safetensors

The modules below restate docs/reference.md §3.2-3.5 (cmr_transformer's Cardiac_MRI_Encoder.video_proj +
F.normalize, Multiview_Attention with Attn_Net_Gated, the classifier fc, HuberLoss(delta=1), BCEWithLogitsLoss with
pos_weight) with the same module tree, so state_dict keys equal the authors' Lightning keys after the
'classifier_head.' prefix. Sizes are reduced (projection 24->16, hidden 12, attention 8) to keep the fixture small;
the Go graph takes them from its Config, and a full-size shape/parameter-count test runs separately.

Every parameter is xavier_normal_ (bias 0; regression output bias 0.57) and then perturbed by N(0, 0.02^2).
The reference runs one bag at a time (batch size 1); here each bag is run alone, unpadded, in torch, while the Go
test feeds the bags padded to N=6 with garbage (large values) in the padded slots and a mask, so the comparison also
proves that padding changes nothing. Dropout is off (eval) so the numbers are deterministic.

Per case c in {reg, cls}: c.param.<name>, c.proj.weight/bias, c.input [B,N,24] (padded), c.mask [B,N], c.target,
c.pos_weight (cls), activations c.out.{hidden1,features,scores,attention,pooled,logits,pred} (padded layout, zeros on
padding), c.loss (mean over bags), c.grad.<name> and c.grad.proj.{weight,bias}.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import st_io  # noqa: E402

torch.set_num_threads(1)
IN, D, H, A, N = 24, 16, 12, 8, 6
SIZES = [3, 1, 5]


class AttnNetGated(nn.Module):
    def __init__(self, L, Dd, n_classes, normalize):
        super().__init__()
        self.normalize = normalize
        if normalize:
            self.layernorm = nn.LayerNorm(L)
        self.attention_a = nn.Sequential(nn.Linear(L, Dd), nn.Tanh())
        self.attention_b = nn.Sequential(nn.Linear(L, Dd), nn.Sigmoid())
        self.attention_c = nn.Linear(Dd, n_classes)

    def forward(self, x):
        if self.normalize:
            x = self.layernorm(x)
        a, b = self.attention_a(x), self.attention_b(x)
        return self.attention_c(a.mul(b)), x


class FC(nn.Module):
    def __init__(self, h, c):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(h, c))


class Head(nn.Module):
    def __init__(self, c, ln, regression):
        super().__init__()
        self.attention_net = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Dropout(0.25), nn.Linear(H, H), nn.ReLU(),
                                           nn.Dropout(0.25), AttnNetGated(H, A, 1, ln))
        self.drop = nn.Dropout(0.25)
        self.classifier_head = FC(H, c)
        self.regression = regression
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                m.bias.data.zero_()
        if regression:
            self.classifier_head.fc[0].bias.data.fill_(0.57)

    def forward(self, h):  # h: [n, D] one bag
        acts = {}
        x = self.attention_net[2](self.attention_net[1](self.attention_net[0](h)))
        acts['hidden1'] = x
        x = self.attention_net[5](self.attention_net[4](self.attention_net[3](x)))
        A_, x = self.attention_net[6](x)
        acts['features'] = x
        A_ = A_.t()  # [1, n]
        acts['scores'] = A_[0]
        att = F.softmax(A_, dim=1)
        acts['attention'] = att[0]
        M = att @ x  # [1, H]
        acts['pooled'] = M[0]
        logits = self.classifier_head.fc(self.drop(M))  # [1, C]
        acts['logits'] = logits[0]
        acts['pred'] = (100 * logits if self.regression else torch.sigmoid(logits))[0]
        return acts


def perturb(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))


out = {}
for case, c, ln, reg, seed in [('reg', 1, False, True, 1), ('cls', 2, True, False, 2)]:
    torch.manual_seed(seed)
    proj = nn.Linear(IN, D)
    head = Head(c, ln, reg).eval()
    perturb(proj, seed + 10)
    perturb(head, seed + 20)
    feats = torch.randn(len(SIZES), N, IN)
    mask = torch.zeros(len(SIZES), N)
    for b, n in enumerate(SIZES):
        mask[b, :n] = 1
        feats[b, n:] = 1e3 * torch.randn(N - n, IN)  # garbage padding
    if reg:
        target = torch.tensor([[55.0], [31.5], [63.2]])
        lossf = nn.HuberLoss(delta=1.0)
    else:
        target = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
        pw = torch.tensor([3.5, 0.8])
        lossf = nn.BCEWithLogitsLoss(pos_weight=pw)
        out[f'{case}.pos_weight'] = pw
    total = 0
    acts_all = {k: torch.zeros(len(SIZES), *s) for k, s in
                [('hidden1', (N, H)), ('features', (N, H)), ('scores', (N,)), ('attention', (N,)), ('pooled', (H,)),
                 ('logits', (c,)), ('pred', (c,))]}
    for b, n in enumerate(SIZES):
        h = F.normalize(proj(feats[b, :n]), dim=1)  # eps 1e-12
        acts = head(h)
        for k, v in acts.items():
            if k in ('hidden1', 'features', 'scores', 'attention'):
                acts_all[k][b, :n] = v.detach()
            else:
                acts_all[k][b] = v.detach()
        pred = 100 * acts['logits'] if reg else acts['logits']
        total = total + lossf(pred[None], target[b][None])
    loss = total / len(SIZES)
    loss.backward()
    for k, v in acts_all.items():
        out[f'{case}.out.{k}'] = v
    out[f'{case}.loss'] = loss.detach().reshape(1)
    out[f'{case}.input'], out[f'{case}.mask'], out[f'{case}.target'] = feats, mask, target
    for name, p in head.named_parameters():
        out[f'{case}.param.{name}'] = p.detach()
        out[f'{case}.grad.{name}'] = p.grad
    for name, p in proj.named_parameters():
        out[f'{case}.proj.{name}'] = p.detach()
        out[f'{case}.grad.proj.{name}'] = p.grad

# Full-size case (768 -> 512 -> 256 -> 256 -> 128 -> 1, LayerNorm, classification): weights and inputs come from a
# formula both languages evaluate (integer phase, float64 sin of an angle in [0, 2pi), rounded to float32) so the fixture needs no weight tensors.
def formula(shape, k, scale):
    n = 1
    for d in shape:
        n *= d
    u = (torch.arange(1, n + 1, dtype=torch.int64) * (2 * k + 7) * 7919) % 10007  # exact integers
    return (scale * torch.sin(u.double() * (2 * math.pi / 10007))).to(torch.float32).reshape(shape)


def set_formula(module, k0):
    with torch.no_grad():
        for k, (name, p) in enumerate(sorted(module.named_parameters())):
            # Weights scaled so instances stay distinct and the scores spread (small biases).
            if p.dim() == 1:
                scale = 0.05
            else:
                mult = 20.0 if 'attention_c' in name else 5.0 if 'attention_' in name else \
                    8.0 if name.startswith('attention_net.') else 1.0
                scale = mult / math.sqrt(p.shape[-1])
            p.copy_(formula(tuple(p.shape), k0 + k, scale))


D, H, A = 512, 256, 128
projF = nn.Linear(768, 512)
headF = Head(1, True, False).eval()
set_formula(projF, 0)
set_formula(headF, 10)
featsF = formula((2, 5, 768), 99, 1.0)
sizesF = [5, 2]
targetF = torch.tensor([[1.0], [0.0]])
lossF = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.5]))
total = 0
attF = torch.zeros(2, 5)
predF = torch.zeros(2, 1)
for b, n in enumerate(sizesF):
    acts = headF(F.normalize(projF(featsF[b, :n]), dim=1))
    attF[b, :n] = acts['attention'].detach()
    predF[b] = acts['pred'].detach()
    total = total + lossF(acts['logits'][None], targetF[b][None])
lf = total / 2
lf.backward()
out['full.attention'], out['full.pred'], out['full.loss'] = attF, predF, lf.detach().reshape(1)
for prefix, mod in [('', headF), ('proj.', projF)]:
    for name, p in mod.named_parameters():
        g = p.grad.double()
        out[f'full.gradstat.{prefix}{name}'] = torch.tensor([g.sum(), (g * g).sum(), g.abs().max()], dtype=torch.float64)
out['full.grad.classifier_head.fc.0.weight'] = headF.classifier_head.fc[0].weight.grad
out['full.grad.attention_net.6.attention_c.weight'] = headF.attention_net[6].attention_c.weight.grad

st_io.save(sys.argv[1], out, {'torch': torch.__version__, 'sizes': ','.join(map(str, SIZES))})
print('wrote', sys.argv[1], os.path.getsize(sys.argv[1]), 'bytes')
