"""Shared helpers for cmrfm's MViT golden-file generators (torch 1.13 / torchvision 0.14, Debian bookworm).

Not run directly: imported by gen_tiny.py, gen_ops.py and full_mvit.py in this folder.

What is independent of the Go code under test:
  * the model is torchvision's own `MViT` class (the same code as `mvit_v1_b`);
  * attention maps are captured with a copy of torchvision's MultiscaleAttention.forward that also keeps the
    post-softmax `attn` (the capturing forward is checked bit-identical to the stock forward);
  * the pytorchvideo-0.1.3 key names (the authors' `arch/mvit.py`) are produced here from torchvision's by a
    table written from docs/reference.md §3.1, and pytorchvideo's numerics (nn.LayerNorm default eps 1e-5 for the
    q/k/v pooling norms) are obtained by setting those modules' eps, not by any Go code.
"""
import math
from types import MethodType

import torch
from torchvision.models.video import mvit as mv

C = mv.MSBlockConfig

# The tiny MViT of shared/reference/10-torch-mvit.sh: 4 blocks with MViT-B's structure (dim doubling at blocks
# 0 and 2, q pooling at 1 and 3, heads 1,2,2,4, kv strides adapting), on a 3x4x32x32 clip.
TINY_CFG = [C(1, 8, 16, [], [3, 3, 3], [], [1, 4, 4]),
            C(2, 16, 16, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 2, 2]),
            C(2, 16, 32, [], [3, 3, 3], [], [1, 1, 1]),
            C(4, 32, 32, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 1, 1])]
TINY_SPATIAL, TINY_TEMPORAL, TINY_CLASSES = (32, 32), 4, 5


def tiny_model(seed):
    torch.manual_seed(seed)
    return mv.MViT(spatial_size=TINY_SPATIAL, temporal_size=TINY_TEMPORAL, block_setting=TINY_CFG,
                   residual_pool=False, residual_with_cls_embed=False, rel_pos_embed=False,
                   proj_after_attn=False, num_classes=TINY_CLASSES)


def perturb(m, seed):
    """torchvision inits Linear biases to 0 and LayerNorm to (1,0): add N(0, 0.02^2) noise to EVERY parameter so a
    port that drops a bias or a LayerNorm affine is caught."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return m


def set_pool_norm_eps(m, eps):
    """pytorchvideo 0.1.3 builds norm_q/k/v with nn.LayerNorm's default eps (1e-5); torchvision uses 1e-6."""
    for b in m.blocks:
        for pool in (b.attn.pool_q, b.attn.pool_k, b.attn.pool_v):
            if pool is not None:
                pool.norm_act[0].eps = eps
    return m


def fwd_keep_attn(self, x, thw):
    """Copy of torchvision 0.14 MultiscaleAttention.forward that also stores the post-softmax attention."""
    B, N, C_ = x.shape
    q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
    if self.pool_k is not None:
        k, k_thw = self.pool_k(k, thw)
    else:
        k_thw = thw
    if self.pool_v is not None:
        v = self.pool_v(v, thw)[0]
    if self.pool_q is not None:
        q, thw = self.pool_q(q, thw)
    attn = torch.matmul(self.scaler * q, k.transpose(2, 3))
    attn = attn.softmax(dim=-1)
    self.last_attn = attn
    x = torch.matmul(attn, v)
    x = x.transpose(1, 2).reshape(B, -1, self.output_dim)
    x = self.project(x)
    return x, thw


def run_capture(m, x, grad=False):
    """Runs m on x with attention capture. Returns dict of activations/attention maps (and, when grad, the features
    tensor still attached to the graph). Features = final-norm CLS token (the encoder output cmrfm uses)."""
    saved = [b.attn.forward for b in m.blocks]
    for b in m.blocks:
        b.attn.forward = MethodType(fwd_keep_attn, b.attn)
    acts = {}
    hooks = [m.conv_proj.register_forward_hook(lambda mod, i, o: acts.__setitem__('act.conv_proj', o)),
             m.pos_encoding.register_forward_hook(lambda mod, i, o: acts.__setitem__('act.pos_encoding', o.clone())),
             m.norm.register_forward_hook(lambda mod, i, o: acts.__setitem__('act.norm', o))]
    for i, b in enumerate(m.blocks):
        hooks.append(b.register_forward_hook(lambda mod, inp, o, i=i: acts.__setitem__(f'act.block{i:02d}', o[0])))
    try:
        logits = m(x)
    finally:
        for h in hooks:
            h.remove()
        for b, f in zip(m.blocks, saved):
            b.attn.forward = f
    for i, b in enumerate(m.blocks):
        acts[f'attn.block{i:02d}'] = b.attn.last_attn
    acts['features'] = acts['act.norm'][:, 0]
    acts['logits'] = logits
    return acts


# ---------------------------------------------------------------- torchvision -> pytorchvideo 0.1.3 key names
def tv_to_pytorchvideo(sd):
    """Renames (and for qkv, splits) a torchvision mvit state dict into pytorchvideo-0.1.3 / arch/mvit.py names and
    shapes (docs/reference.md §3.1). The K400 classifier (head.1) becomes head.proj."""
    out = {}
    for k, v in sd.items():
        p = k.split('.')
        if k == 'conv_proj.weight' or k == 'conv_proj.bias':
            out['patch_embed.patch_model.' + p[1]] = v
        elif k == 'pos_encoding.class_token':
            out['cls_positional_encoding.cls_token'] = v.reshape(1, 1, -1)
        elif k == 'pos_encoding.spatial_pos':
            out['cls_positional_encoding.pos_embed_spatial'] = v.unsqueeze(0)
        elif k == 'pos_encoding.temporal_pos':
            out['cls_positional_encoding.pos_embed_temporal'] = v.unsqueeze(0)
        elif k == 'pos_encoding.class_pos':
            out['cls_positional_encoding.pos_embed_class'] = v.reshape(1, 1, -1)
        elif k.startswith('norm.'):
            out['norm_embed.' + p[1]] = v
        elif k.startswith('head.1.'):
            out['head.proj.' + p[2]] = v
        elif p[0] == 'blocks':
            i, rest = p[1], '.'.join(p[2:])
            pre = f'blocks.{i}.'
            if rest.startswith('attn.qkv.'):
                for name, part in zip('qkv', v.chunk(3, dim=0)):
                    out[pre + f'attn.{name}.' + p[-1]] = part.clone()
            elif rest.startswith('attn.project.0.'):
                out[pre + 'attn.proj.' + p[-1]] = v
            elif rest.startswith('attn.pool_') and '.pool.weight' in rest:
                out[pre + f'attn.pool_{rest[10]}.weight'] = v
            elif rest.startswith('attn.pool_') and '.norm_act.0.' in rest:
                out[pre + f'attn.norm_{rest[10]}.' + p[-1]] = v
            elif rest.startswith('mlp.0.'):
                out[pre + 'mlp.fc1.' + p[-1]] = v
            elif rest.startswith('mlp.3.'):
                out[pre + 'mlp.fc2.' + p[-1]] = v
            elif rest.startswith('project.'):
                out[pre + 'proj.' + p[-1]] = v
            elif rest.split('.')[0] in ('norm1', 'norm2'):
                out[k] = v
            else:
                raise KeyError(k)
        else:
            raise KeyError(k)
    return out


def pytorchvideo_to_tv(pv):
    """Inverse of tv_to_pytorchvideo (q, k, v re-fused into qkv)."""
    out, qkv = {}, {}
    for k, v in pv.items():
        p = k.split('.')
        if k.startswith('patch_embed.patch_model.'):
            out['conv_proj.' + p[-1]] = v
        elif k == 'cls_positional_encoding.cls_token':
            out['pos_encoding.class_token'] = v.reshape(-1)
        elif k == 'cls_positional_encoding.pos_embed_spatial':
            out['pos_encoding.spatial_pos'] = v[0]
        elif k == 'cls_positional_encoding.pos_embed_temporal':
            out['pos_encoding.temporal_pos'] = v[0]
        elif k == 'cls_positional_encoding.pos_embed_class':
            out['pos_encoding.class_pos'] = v.reshape(-1)
        elif k.startswith('norm_embed.'):
            out['norm.' + p[-1]] = v
        elif k.startswith('head.proj.'):
            out['head.1.' + p[-1]] = v
        else:
            pre, rest = f'blocks.{p[1]}.', '.'.join(p[2:])
            if rest[:7] in ('attn.q.', 'attn.k.', 'attn.v.'):
                qkv.setdefault((p[1], p[-1]), {})[rest[5]] = v
            elif rest.startswith('attn.proj.'):
                out[pre + 'attn.project.0.' + p[-1]] = v
            elif rest.startswith('attn.pool_'):
                out[pre + f'attn.pool_{rest[10]}.pool.weight'] = v
            elif rest.startswith('attn.norm_'):
                out[pre + f'attn.pool_{rest[10]}.norm_act.0.' + p[-1]] = v
            elif rest.startswith('mlp.fc1.'):
                out[pre + 'mlp.0.' + p[-1]] = v
            elif rest.startswith('mlp.fc2.'):
                out[pre + 'mlp.3.' + p[-1]] = v
            elif rest.startswith('proj.'):
                out[pre + 'project.' + p[-1]] = v
            else:
                out[k] = v
    for (i, kind), d in qkv.items():
        out[f'blocks.{i}.attn.qkv.{kind}'] = torch.cat([d['q'], d['k'], d['v']], dim=0)
    return out


def authors_load(ckpt_state_dict, model_dict_keys):
    """The authors' load_contrastive_pretrained_weights (model_factory.py:356-380, docs/reference.md §3.8), verbatim in
    its key handling: str.strip('model.') strips any of the characters m,o,d,e,l,. from both ends of each key."""
    return {k.strip('model.'): v for k, v in ckpt_state_dict.items() if k.strip('model.') in model_dict_keys}
