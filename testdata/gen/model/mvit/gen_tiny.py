#!/usr/bin/env python3
"""Generates the tiny-MViT golden fixtures in model/mvit/testdata/ from Debian's torch 1.13 / torchvision 0.14.

Run (from the repository root; needs apt packages python3-torch python3-torchvision libopenblas0-pthread):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/mvit/gen_tiny.py [outdir]
Default outdir: model/mvit/testdata. Deterministic (fixed seeds, 1 thread).

Files:
  tiny_tv_weights.safetensors  torchvision MViT (4 blocks, 3x4x32x32, 5 classes), every parameter perturbed N(0,.02²),
                               torchvision key names; metadata: block config.
  tiny_golden.safetensors      input [2,3,4,32,32]; act.conv_proj, act.pos_encoding, act.blockNN (per-block output),
                               attn.blockNN (post-softmax attention maps [B,heads,Nq,Nk]), act.norm, features (final
                               norm CLS token), logits (head); grad.<param> = d(sum(logits))/d(param) for every
                               parameter (torchvision names).
  tiny_pv_k400.pyth            the same architecture in pytorchvideo-0.1.3 names as a model-zoo file {"model_state": ..}
                               (stands in for Kinetics-400 MVIT_B_16x4.pyth), different perturbation.
  tiny_pv_cmr.ckpt             a Lightning-1.8-style checkpoint in the authors' layout (docs/reference.md §3.8):
                               state_dict with model.video_encoder.<pytorchvideo name>, model.video_proj.{weight,bias},
                               text-branch keys, plus epoch/global_step/optimizer_states/hyper_parameters objects.
  tiny_pv_golden.safetensors   features of the pytorchvideo-semantics model (pool-norm eps 1e-5) on tiny_golden's input:
                               features.fixed  = every encoder tensor from tiny_pv_cmr.ckpt;
                               features.quirk  = the authors' loader (str.strip('model.')) applied on top of the K400
                                                 file: pos_embed_spatial/temporal keep their K400 values.
"""
import argparse
import collections
import json
import os
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import mvit_ref  # noqa: E402
import st_io  # noqa: E402

torch.set_num_threads(1)
out = sys.argv[1] if len(sys.argv) > 1 else 'model/mvit/testdata'
os.makedirs(out, exist_ok=True)
SEED = 0

# ---------------------------------------------------------------- torchvision tiny model: forward, attention, grads
m = mvit_ref.perturb(mvit_ref.tiny_model(SEED), SEED + 7).eval()
torch.manual_seed(SEED + 1)
x = torch.randn(2, 3, 4, 32, 32)
with torch.no_grad():
    stock = m(x)
acts = mvit_ref.run_capture(m, x, grad=True)
assert torch.equal(stock, acts['logits'].detach()), 'attention-capturing forward differs from the stock forward'
m.zero_grad()
acts['logits'].sum().backward()
golden = {k: v.detach() for k, v in acts.items()}
golden['input'] = x
for name, p in m.named_parameters():
    golden['grad.' + name] = p.grad.detach().clone()
cfg = json.dumps([c.__dict__ for c in mvit_ref.TINY_CFG])
st_io.save(f'{out}/tiny_tv_weights.safetensors', m.state_dict(),
           {'config': cfg, 'spatial_size': '32,32', 'temporal_size': 4, 'num_classes': 5, 'layernorm_eps': 1e-6,
            'generator': 'testdata/gen/model/mvit/gen_tiny.py', 'torch': torch.__version__})
st_io.save(f'{out}/tiny_golden.safetensors', golden, {'loss': 'sum(logits)', 'torch': torch.__version__})
print('torchvision tiny: params', sum(p.numel() for p in m.parameters()),
      'attention shapes', [tuple(golden[f'attn.block{i:02d}'].shape) for i in range(4)])

# ---------------------------------------------------------------- pytorchvideo layout: K400 file + authors' ckpt
k400_tv = mvit_ref.perturb(mvit_ref.tiny_model(SEED), SEED + 11).state_dict()  # "Kinetics" weights
cmr_tv = mvit_ref.perturb(mvit_ref.tiny_model(SEED), SEED + 13).state_dict()   # "cmr_c0.1" weights
k400_pv = mvit_ref.tv_to_pytorchvideo(k400_tv)
cmr_pv = {k: v for k, v in mvit_ref.tv_to_pytorchvideo(cmr_tv).items() if not k.startswith('head.')}
assert all(torch.equal(a, mvit_ref.pytorchvideo_to_tv(k400_pv)[k]) for k, a in k400_tv.items())
torch.save({'model_state': collections.OrderedDict(sorted(k400_pv.items())), 'epoch': 200}, f'{out}/tiny_pv_k400.pyth')

g = torch.Generator().manual_seed(SEED + 17)
proj_w, proj_b = 0.1 * torch.randn(8, 32, generator=g), 0.1 * torch.randn(8, generator=g)
sd = collections.OrderedDict()
for k, v in cmr_pv.items():
    sd['model.video_encoder.' + k] = v
sd['model.video_proj.weight'], sd['model.video_proj.bias'] = proj_w, proj_b
sd['model.text_encoder.embeddings.word_embeddings.weight'] = torch.randn(11, 4, generator=g)
sd['model.text_proj.weight'] = torch.randn(8, 4, generator=g)


# Lightning's hyper_parameters is a pytorch_lightning AttributeDict; we pickle a stand-in class under that module
# path (the reader must tolerate classes it cannot import).
class AttributeDict(dict):
    pass


for mod in ('pytorch_lightning', 'pytorch_lightning.utilities', 'pytorch_lightning.utilities.parsing'):
    sys.modules.setdefault(mod, types.ModuleType(mod))
AttributeDict.__module__ = 'pytorch_lightning.utilities.parsing'
sys.modules['pytorch_lightning.utilities.parsing'].AttributeDict = AttributeDict
hp = AttributeDict(lr=4.8e-5, video_model='mvit', proj_dim=8, args=argparse.Namespace(batch_size=32, tau=0.07))
ckpt = {'epoch': 599, 'global_step': 124200, 'pytorch-lightning_version': '1.8.6', 'state_dict': sd,
        'loops': {'fit_loop': {'state_dict': {}, 'epoch_progress': {'total': {'ready': 600}}}},
        'callbacks': {"ModelCheckpoint{'monitor': None}": {'best_model_score': torch.tensor(0.25)}},
        'optimizer_states': [{'state': {0: {'step': torch.tensor(3.0), 'exp_avg': torch.zeros(2, 2)}},
                              'param_groups': [{'lr': 4.8e-5, 'weight_decay': 1e-6, 'params': [0]}]}],
        'lr_schedulers': [{'step_size': 300, 'gamma': 0.1, 'last_epoch': 599}],
        'hparams_name': 'kwargs', 'hyper_parameters': hp}
torch.save(ckpt, f'{out}/tiny_pv_cmr.ckpt')


def pv_features(pv_state):
    mm = mvit_ref.set_pool_norm_eps(mvit_ref.tiny_model(SEED), 1e-5).eval()
    tv = mvit_ref.pytorchvideo_to_tv(pv_state)
    missing, unexpected = mm.load_state_dict(tv, strict=False)
    assert not unexpected and set(missing) <= {'head.1.weight', 'head.1.bias'}, (missing, unexpected)
    with torch.no_grad():
        return mvit_ref.run_capture(mm, x)['features']


model_dict_keys = {'video_encoder.' + k for k in cmr_pv} | {'video_proj.weight', 'video_proj.bias'}
loaded = mvit_ref.authors_load(torch.load(f'{out}/tiny_pv_cmr.ckpt')['state_dict'], model_dict_keys)
skipped = sorted(model_dict_keys - set(loaded))
print('authors loader skipped:', skipped)
assert skipped == ['video_encoder.cls_positional_encoding.pos_embed_spatial',
                   'video_encoder.cls_positional_encoding.pos_embed_temporal'], skipped
quirk = {k: v for k, v in k400_pv.items() if not k.startswith('head.')}
quirk.update({k[len('video_encoder.'):]: v for k, v in loaded.items() if k.startswith('video_encoder.')})
st_io.save(f'{out}/tiny_pv_golden.safetensors',
           {'features.fixed': pv_features(cmr_pv), 'features.quirk': pv_features(quirk)},
           {'pool_norm_eps': 1e-5, 'torch': torch.__version__})
for f in sorted(os.listdir(out)):
    if f.startswith('tiny_'):
        print(f'{f}: {os.path.getsize(os.path.join(out, f))} bytes')

# ---------------------------------------------------------------- full-size key lists (names and shapes only)
import torchvision.models.video as tvv  # noqa: E402

full = tvv.mvit_v1_b(weights=None).state_dict()
keys = {'torchvision': {k: list(v.shape) for k, v in full.items()},
        'pytorchvideo': {k: list(v.shape) for k, v in mvit_ref.tv_to_pytorchvideo(full).items()},
        'params_with_head': sum(v.numel() for v in full.values()),
        'params_without_head': sum(v.numel() for k, v in full.items() if not k.startswith('head.'))}
json.dump(keys, open(f'{out}/mvit_v1_b_keys.json', 'w'), indent=0, sort_keys=True)
print('mvit_v1_b_keys.json:', len(keys['torchvision']), 'torchvision keys,', len(keys['pytorchvideo']),
      'pytorchvideo keys, params', keys['params_with_head'], keys['params_without_head'])
