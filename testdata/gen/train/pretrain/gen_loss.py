#!/usr/bin/env python3
"""Golden fixture for cmrfm's contrastive pretraining loss (train/pretrain), computed by torch 1.13 (Debian).

Usage (from the repository root; < 1 s, byte-reproducible):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/train/pretrain/gen_loss.py train/pretrain/testdata/loss_golden.safetensors

The loss restates the paper (docs/reference.md §3.7), written with torch's own functions:
    v = F.normalize(v_raw, dim=1), u = F.normalize(u_raw, dim=1)          (eps 1e-12, as the projection heads)
    S = exp(log_scale) * v @ u.T                                          (log_scale = log(1/tau))
    l(v->u) = F.cross_entropy(S, arange(B), reduction='none')             = -log softmax_k(S[i,k])[i]
    l(u->v) = F.cross_entropy(S.T, arange(B), reduction='none')
    L = mean_i(lambda * l(v->u) + (1 - lambda) * l(u->v))
    L~ = |L - b| + b                                                      (flooding)
and autograd gives dL~/dv_raw, dL~/du_raw and dL~/dlog_scale. Everything is float64, so the fixture is the exact
answer to ~1e-15; the Go test runs its graph in float64 (tolerance 1e-12) and float32 (tolerance 1e-6).

Cases (c.*): B, D, tau, lambda, b, and how the inputs are drawn:
    random   8 x 16, tau 0.1,  lambda 0.75, b 0.05: random Gaussian pairs, L ~ 2 (flood inactive)
    aligned  8 x 16, tau 0.05, lambda 0.5,  b 0.05: u = v + small noise, L < b (flooding reverses the gradient)
    wide    32 x 128, tau 0.07, lambda 1.0, b 0:    the paper's batch size, video->text term only
    textonly 5 x 16, tau 0.2,  lambda 0.0,  b 0.05: text->video term only, scaled inputs (norms 1e-3 .. 1e3)
Stored per case: c.v, c.u [B,D], c.log_scale [], c.lambda [], c.flood [], c.loss_raw [], c.loss [],
c.loss_v2u [B], c.loss_u2v [B], c.grad_v, c.grad_u [B,D], c.grad_log_scale [].
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
import st_io  # noqa: E402  (testdata/gen/st_io.py: numpy-only safetensors writer)

torch.set_num_threads(1)


def case(name, v, u, tau, lam, b, out):
    v = v.clone().requires_grad_(True)
    u = u.clone().requires_grad_(True)
    ls = torch.tensor(math.log(1.0 / tau), dtype=torch.float64, requires_grad=True)
    vn, un = F.normalize(v, dim=1), F.normalize(u, dim=1)
    s = torch.exp(ls) * vn @ un.T
    tgt = torch.arange(v.shape[0])
    l_vu = F.cross_entropy(s, tgt, reduction='none')
    l_uv = F.cross_entropy(s.T, tgt, reduction='none')
    raw = (lam * l_vu + (1 - lam) * l_uv).mean()
    loss = (raw - b).abs() + b
    loss.backward()
    p = name + '.'
    out.update({p + 'v': v.detach(), p + 'u': u.detach(), p + 'log_scale': ls.detach(),
                p + 'lambda': torch.tensor(lam, dtype=torch.float64), p + 'flood': torch.tensor(b, dtype=torch.float64),
                p + 'loss_raw': raw.detach(), p + 'loss': loss.detach(),
                p + 'loss_v2u': l_vu.detach(), p + 'loss_u2v': l_uv.detach(),
                p + 'grad_v': v.grad, p + 'grad_u': u.grad, p + 'grad_log_scale': ls.grad})
    print(f'{name}: B={v.shape[0]} D={v.shape[1]} raw={raw.item():.6f} flooded={loss.item():.6f}', file=sys.stderr)


def main():
    out_path = sys.argv[1]
    g = torch.Generator().manual_seed(20231201)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    out = {}
    case('random', r(8, 16), r(8, 16), 0.1, 0.75, 0.05, out)
    v = r(8, 16)
    case('aligned', v, v + 0.05 * r(8, 16), 0.05, 0.5, 0.05, out)
    case('wide', r(32, 128), r(32, 128), 0.07, 1.0, 0.0, out)
    scale = torch.logspace(-3, 3, 5, dtype=torch.float64)[:, None]
    case('textonly', r(5, 16) * scale, r(5, 16) * scale.flip(0), 0.2, 0.0, 0.05, out)
    st_io.save(out_path, out, {'generator': 'testdata/gen/train/pretrain/gen_loss.py', 'torch': torch.__version__})


if __name__ == '__main__':
    main()
