#!/usr/bin/env python3
"""`cmrfm predict`'s work in PyTorch 1.13 (Debian), for the throughput comparison of bench/predict.sh.

Usage: OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/predict_torch.py CHECKPOINT STORE CLIPS_CSV PREDS_CSV [threads=1]

For every study of cmrfm's per-clip table (CLIPS_CSV, written by `cmrfm predict --clips`: the same studies and the
same clips, i.e. the same bag selection), per study: read the study's HDF5 file (h5py), take each clip's frames
(uniform temporal subsampling of [start_frame, end_frame) to 16 frames), apply the reference's evaluation chain
(Normalize(0.45, 0.225) on 0-255 values, ShortSideScale(264) bilinear, CenterCrop(224), /255 — restated as in
testdata/gen/train/data/gen_transforms.py), run torchvision's mvit_v1_b (pool-norm eps 1e-5 as pytorchvideo 0.1.3) with the
checkpoint's encoder weights on the bag's clips one at a time (as cmrfm predict does for MViT-B), then the projection
(Linear + L2 normalise) and the gated-attention MIL head (the authors' Multiview_Attention, eval mode) on the bag.
Prints one JSON line: studies, clips, wall seconds of the loop (loading, transforms, model; not the model build),
studies per minute, and the largest |prediction - cmrfm's| over the studies (PREDS_CSV).
"""
import csv
import json
import math
import os
import sys
import time

threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1
os.environ.setdefault('OPENBLAS_NUM_THREADS', str(threads))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision.models.video as tvv  # noqa: E402
import yaml  # noqa: E402  (Debian python3-yaml, a dependency of python3-torch's tooling)

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', 'testdata', 'gen', 'model', 'mvit'))
sys.path.insert(0, os.path.join(here, '..', 'testdata', 'gen', 'train', 'data'))
import mvit_ref  # noqa: E402
from gen_transforms import normalize, short_side_scale, temporal_idx  # noqa: E402

torch.set_num_threads(threads)
ckpt, store, clips_csv, preds_csv = sys.argv[1:5]


def load_f32(path):
    """The float32 tensors and the metadata of a safetensors file (other dtypes are skipped)."""
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        hdr = json.loads(f.read(n))
        data = f.read()
    meta = hdr.pop('__metadata__', {})
    out = {}
    for name, d in hdr.items():
        if d['dtype'] == 'F32':
            b, e = d['data_offsets']
            out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype='<f4').reshape(d['shape']).copy())
    return out, meta


sd, meta = load_f32(ckpt)
cfg = yaml.safe_load(meta['cmrfm.train.config'])
regression = cfg['task'] == 'regression'
enc = {k[len('/model/video_encoder/'):].replace('/', '.'): v for k, v in sd.items() if k.startswith('/model/video_encoder/')}
video = tvv.mvit_v1_b(weights=None)
video.head = nn.Identity()
video.load_state_dict({k: v for k, v in mvit_ref.pytorchvideo_to_tv(enc).items() if not k.startswith('head.')})
mvit_ref.set_pool_norm_eps(video, 1e-5)  # --arch mvit-b-16x4: pytorchvideo's nn.LayerNorm default
video.eval()
proj = nn.Linear(sd['/model/video_proj/weight'].shape[1], sd['/model/video_proj/weight'].shape[0])
proj.weight.data, proj.bias.data = sd['/model/video_proj/weight'], sd['/model/video_proj/bias']


def head_param(name):
    return sd['/classifier_head/' + name.replace('.', '/')]


class Head(nn.Module):
    """The authors' Multiview_Attention in eval mode (testdata/gen/train/finetune/gen_step.py has the training form)."""

    def __init__(self):
        super().__init__()
        self.layernorm = '/classifier_head/attention_net/6/layernorm/weight' in sd

    def forward(self, h):  # h [N, E]
        lin = lambda x, n: F.linear(x, head_param(n + '.weight'), head_param(n + '.bias'))  # noqa: E731
        x = F.relu(lin(F.relu(lin(h, 'attention_net.0')), 'attention_net.3'))
        if self.layernorm:
            x = F.layer_norm(x, x.shape[-1:], head_param('attention_net.6.layernorm.weight'),
                             head_param('attention_net.6.layernorm.bias'), 1e-5)
        a = torch.tanh(lin(x, 'attention_net.6.attention_a.0')) * torch.sigmoid(lin(x, 'attention_net.6.attention_b.0'))
        att = F.softmax(lin(a, 'attention_net.6.attention_c').t(), dim=1)  # [1, N]
        logits = lin(att @ x, 'classifier_head.fc.0')[0]
        return 100 * logits if regression else torch.sigmoid(logits)


head = Head()

# The studies and clips cmrfm predicted, in its order.
studies = {}
with open(clips_csv) as f:
    for r in csv.DictReader(f):
        studies.setdefault(r['filenames'], []).append((r['views'], int(r['start_frame']), int(r['end_frame'])))
theirs = {}
with open(preds_csv) as f:
    for r in csv.DictReader(f):
        theirs[r['filenames']] = float(r['preds' if regression else 'probs'])
paths = {}
with open(os.path.join(store, 'index.csv')) as f:
    for r in csv.DictReader(f):
        paths[f"{r['parent_folder']}-{r['accession']}"] = os.path.join(store, r['parent_folder'], r['accession'])


def clip(ds, start, end):
    """(C,T,224,224) float32 from a (c, f, h, w) uint8 view dataset: the evaluation chain."""
    idx = (start + temporal_idx(end - start)).numpy()
    x = torch.from_numpy(ds[:, sorted(set(idx.tolist()))].astype(np.float32))
    x = x[:, [sorted(set(idx.tolist())).index(i) for i in idx]]
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1, -1)
    x = short_side_scale(normalize(x), 264)
    h, w = x.shape[-2:]
    top, left = round((h - 224) / 2), round((w - 224) / 2)
    return x[..., top:top + 224, left:left + 224] / 255


t0 = time.perf_counter()
worst, nclips = 0.0, 0
with torch.inference_mode():
    for key, refs in studies.items():
        with h5py.File(paths[key], 'r') as h5:
            feats = []
            for view, start, end in refs:
                x = clip(h5[view], start, end)
                feats.append(video(x[None])[0])
                nclips += 1
        emb = F.normalize(proj(torch.stack(feats)), dim=-1)
        pred = float(head(emb)[0])
        if key in theirs:
            worst = max(worst, abs(pred - theirs[key]))
wall = time.perf_counter() - t0
print(json.dumps({'torch': torch.__version__, 'threads': threads, 'studies': len(studies), 'clips': nclips,
                  'loop_s': wall, 'studies_per_min': 60 * len(studies) / wall,
                  'max_abs_pred_diff_vs_cmrfm': worst}))
