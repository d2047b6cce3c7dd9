#!/usr/bin/env python3
"""Generates the tiny-BERT golden fixtures in model/bert/testdata/ from Debian's torch 1.13.

Run (from the repository root; apt packages python3-torch python3-numpy libopenblas0-pthread):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/bert/gen_tiny.py [outdir]
Default outdir: model/bert/testdata. Deterministic (fixed seeds, 1 thread).

The model is bert_ref.Bert (HF modeling_bert semantics, HF parameter names) in the tiny configuration
bert_ref.TINY (vocab 99, hidden 32, 2 layers, 4 heads, FFN 37, 40 positions, 2 token types), initialised as HF
does and then with N(0, 0.02²) added to EVERY parameter (biases, LayerNorms and the padding row included).

Files:
  tiny_weights.safetensors    BertModel state dict (HF names, Linear weights [out, in]); metadata: config.
  tiny_golden.safetensors     a padded batch of 3 sequences of 11 tokens (rows padded by 0, 4 and 8 positions):
                              input_ids, token_type_ids, attention_mask (int64); hidden_states.00 (embeddings) ..
                              hidden_states.02 (every layer, padded positions included); pooler_output;
                              pool.cls / pool.mean / pool.max (over the mask); loss.r_hidden, loss.r_pooled: the
                              fixed random weights of loss = sum(last_hidden*r_hidden) + sum(pooler*r_pooled);
                              grad.<param> = d loss / d param from torch autograd (HF names and layouts).
  tiny_pretraining.bin        the same weights as a torch.save zip in the layout of an old HF BertForPreTraining
                              pytorch_model.bin: "bert." prefix, TensorFlow-era LayerNorm.gamma/.beta names, the
                              embeddings.position_ids buffer, and cls.predictions / cls.seq_relationship heads.
  tiny_authors.ckpt           a Lightning-1.8-style checkpoint in the authors' two-tower layout (docs/reference.md §3.8;
                              the text-branch names are not public, this uses model.text_encoder.<HF name>):
                              state_dict with model.text_encoder.*, model.text_proj.{weight,bias} [8, 32],
                              model.video_encoder.* and model.video_proj.* stand-ins; epoch, global_step,
                              optimizer_states, hyper_parameters (a pickled custom class).
  tiny_authors_golden.safetensors  text_proj.weight / text_proj.bias as written into tiny_authors.ckpt.
"""
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import bert_ref  # noqa: E402
import st_io  # noqa: E402

torch.set_num_threads(1)
out = sys.argv[1] if len(sys.argv) > 1 else 'model/bert/testdata'
os.makedirs(out, exist_ok=True)
SEED = 0
c = bert_ref.TINY
meta = dict(c.meta(), generator='testdata/gen/model/bert/gen_tiny.py', torch=torch.__version__)

m = bert_ref.make_model(c, SEED)
B, L = 3, 11
ids, tt, mask = bert_ref.make_inputs(c, B, L, SEED + 10, [0, 4, 8])

hs, pooled = m(ids, tt, mask)
g = torch.Generator().manual_seed(SEED + 20)
r_hidden = torch.randn(B, L, c.hidden, generator=g)
r_pooled = torch.randn(B, c.hidden, generator=g)
loss = (hs[-1] * r_hidden).sum() + (pooled * r_pooled).sum()
m.zero_grad()
loss.backward()

golden = {'input_ids': ids, 'token_type_ids': tt, 'attention_mask': mask, 'pooler_output': pooled.detach(),
          'loss.r_hidden': r_hidden, 'loss.r_pooled': r_pooled, 'loss.value': loss.detach().reshape(1)}
for i, h in enumerate(hs):
    golden[f'hidden_states.{i:02d}'] = h.detach()
last = hs[-1].detach()
golden['pool.cls'] = last[:, 0]
golden['pool.mean'] = bert_ref.pool_mean(last, mask)
golden['pool.max'] = bert_ref.pool_max(last, mask)
for name, p in m.named_parameters():
    golden['grad.' + name] = p.grad.detach().clone()
sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
st_io.save(f'{out}/tiny_weights.safetensors', sd, meta)
st_io.save(f'{out}/tiny_golden.safetensors', golden, meta)

# An old HF BertForPreTraining pytorch_model.bin: bert.-prefixed, gamma/beta LayerNorms, heads, position_ids.
gh = torch.Generator().manual_seed(SEED + 30)
pt = collections.OrderedDict()
for k, v in sd.items():
    k = k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta')
    pt['bert.' + k] = v
    if k == 'embeddings.word_embeddings.weight':
        pt['bert.embeddings.position_ids'] = torch.arange(c.max_pos).unsqueeze(0)
pt['cls.predictions.bias'] = torch.randn(c.vocab, generator=gh)
pt['cls.predictions.transform.dense.weight'] = torch.randn(c.hidden, c.hidden, generator=gh)
pt['cls.predictions.transform.dense.bias'] = torch.randn(c.hidden, generator=gh)
pt['cls.predictions.transform.LayerNorm.gamma'] = torch.randn(c.hidden, generator=gh)
pt['cls.predictions.transform.LayerNorm.beta'] = torch.randn(c.hidden, generator=gh)
pt['cls.predictions.decoder.weight'] = sd['embeddings.word_embeddings.weight']  # tied, shares the storage
pt['cls.seq_relationship.weight'] = torch.randn(2, c.hidden, generator=gh)
pt['cls.seq_relationship.bias'] = torch.randn(2, generator=gh)
torch.save(pt, f'{out}/tiny_pretraining.bin')


# The authors' Lightning checkpoint (two towers). hyper_parameters is a custom object, as Lightning's
# AttributeDict/jsonargparse Namespace are, so that the reader must tolerate unknown classes.
class HParams:
    def __init__(self, **kw):
        self.__dict__.update(kw)


state = collections.OrderedDict()
for k, v in sd.items():
    state['model.text_encoder.' + k] = v
gp = torch.Generator().manual_seed(SEED + 40)
proj_w, proj_b = torch.randn(8, c.hidden, generator=gp), torch.randn(8, generator=gp)
state['model.text_proj.weight'] = proj_w
state['model.text_proj.bias'] = proj_b
state['model.video_encoder.cls_positional_encoding.cls_token'] = torch.randn(1, 1, 8, generator=gp)
state['model.video_proj.weight'] = torch.randn(8, 8, generator=gp)
state['model.video_proj.bias'] = torch.randn(8, generator=gp)
ckpt = {'epoch': 599, 'global_step': 124200, 'pytorch-lightning_version': '1.8.6', 'state_dict': state,
        'optimizer_states': [{'state': {0: {'step': torch.tensor(3.0), 'exp_avg': torch.zeros(3)}},
                              'param_groups': [{'lr': 4.8e-5, 'weight_decay': 1e-6, 'params': [0]}]}],
        'lr_schedulers': [{'step_size': 300, 'gamma': 0.1}], 'callbacks': {}, 'loops': {},
        'hparams_name': 'kwargs', 'hyper_parameters': HParams(lr=4.8e-5, freeze_layers=6)}
torch.save(ckpt, f'{out}/tiny_authors.ckpt')
st_io.save(f'{out}/tiny_authors_golden.safetensors', {'text_proj.weight': proj_w, 'text_proj.bias': proj_b}, meta)

for f in sorted(os.listdir(out)):
    print(f'{f}: {os.path.getsize(os.path.join(out, f))} bytes')
print('loss', loss.item())
