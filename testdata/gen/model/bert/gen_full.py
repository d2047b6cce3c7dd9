#!/usr/bin/env python3
"""Full-size BERT-base reference for model/bert's TestBertBaseMatchesTorch (too large to commit).

Run (apt: python3-torch python3-numpy libopenblas0-pthread; ~1 GB RAM, ~20 s, writes ~450 MB):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 testdata/gen/model/bert/gen_full.py [outdir]
Default outdir: $CMRFM_CACHE/bert-reference, else ~/.cache/cmrfm/bert-reference — where the Go test looks.
Deterministic (fixed seeds, 1 thread).

The model is bert_ref.Bert in the bert-base configuration (vocab 30522, 12 layers x 768, 12 heads, FFN 3072, 512
positions), HF-initialised and then N(0, 0.02^2) added to EVERY parameter. Input: batch 2 x 128 tokens, the second
row padded over its last 32 positions, token types 0 then 1 from mid-sentence.

Files:
  bert_base_weights.safetensors  BertModel state dict (HF names), 109,482,240 parameters.
  bert_base_golden.safetensors   input_ids, token_type_ids, attention_mask (int64); hidden_states.00 .. .12;
                                 last_hidden_state; pooler_output.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))  # testdata/gen/st_io.py
import bert_ref  # noqa: E402
import st_io  # noqa: E402

torch.set_num_threads(1)
if len(sys.argv) > 1:
    out = sys.argv[1]
elif os.environ.get('CMRFM_CACHE'):
    out = os.path.join(os.environ['CMRFM_CACHE'], 'bert-reference')
else:
    out = os.path.join(os.path.expanduser('~'), '.cache', 'cmrfm', 'bert-reference')
os.makedirs(out, exist_ok=True)
c = bert_ref.BERT_BASE
meta = dict(c.meta(), generator='testdata/gen/model/bert/gen_full.py', torch=torch.__version__)
m = bert_ref.make_model(c, 0)
n = sum(p.numel() for p in m.parameters())
assert n == 109482240, n
B, L = 2, 128
ids, tt, mask = bert_ref.make_inputs(c, B, L, 1, [0, L // 4])
with torch.inference_mode():
    hs, pooled = m(ids, tt, mask)
golden = {'input_ids': ids, 'token_type_ids': tt, 'attention_mask': mask, 'pooler_output': pooled,
          'last_hidden_state': hs[-1]}
for i, h in enumerate(hs):
    golden[f'hidden_states.{i:02d}'] = h
# Weights first, golden last: the Go test takes the golden file's presence to mean "complete".
st_io.save(f'{out}/bert_base_weights.safetensors', m.state_dict(), meta)
st_io.save(f'{out}/bert_base_golden.safetensors', golden, meta)
print(f'{out}: {n} parameters; files:', ', '.join(f'{f} ({os.path.getsize(os.path.join(out, f))} bytes)'
                                              for f in sorted(os.listdir(out))))
