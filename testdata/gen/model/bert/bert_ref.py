"""HF-`modeling_bert`-equivalent BERT written with torch alone (Debian bookworm has no python3-transformers).

Shared by gen_tiny.py, gen_full.py and bench_torch.py. Follows ../shared/reference/20-bert-torch.sh: parameter
names are Hugging Face BertModel's state_dict keys; semantics are modeling_bert's (transformers 4.x, eager
attention): word + absolute position + token-type embeddings, LayerNorm(eps 1e-12), post-LN encoder layers with
erf-GELU, the extended attention mask (1 - mask) * finfo(float32).min added to the scores, and a tanh pooler on the
first token. Dropout is omitted (the goldens are eval-mode).

Run nothing here directly; see the other scripts' headers.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cfg:
    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, inter=3072, max_pos=512, types=2, eps=1e-12):
        self.vocab, self.hidden, self.layers, self.heads = vocab, hidden, layers, heads
        self.inter, self.max_pos, self.types, self.eps = inter, max_pos, types, eps

    def meta(self):
        return {'vocab_size': self.vocab, 'hidden_size': self.hidden, 'num_hidden_layers': self.layers,
                'num_attention_heads': self.heads, 'intermediate_size': self.inter,
                'max_position_embeddings': self.max_pos, 'type_vocab_size': self.types, 'layer_norm_eps': self.eps,
                'hidden_act': 'gelu', 'mask': '(1-mask)*finfo(float32).min added to scores'}


BERT_BASE = Cfg()
# The tiny test configuration (cmrfm preset "bert-tiny"): odd sizes so that a transposed weight cannot pass.
TINY = Cfg(vocab=99, hidden=32, layers=2, heads=4, inter=37, max_pos=40, types=2)


class Emb(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab, c.hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(c.max_pos, c.hidden)
        self.token_type_embeddings = nn.Embedding(c.types, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, ids, tt):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        # modeling_bert: inputs_embeds + token_type_embeddings, then + position_embeddings.
        e = self.word_embeddings(ids) + self.token_type_embeddings(tt)
        return self.LayerNorm(e + self.position_embeddings(pos))


class NS(nn.Module):
    """A plain container module, so that state_dict keys follow HF's module tree."""


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.attention = NS()
        self.attention.self = NS()
        self.attention.output = NS()
        for n in ('query', 'key', 'value'):
            setattr(self.attention.self, n, nn.Linear(c.hidden, c.hidden))
        self.attention.output.dense = nn.Linear(c.hidden, c.hidden)
        self.attention.output.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.intermediate = NS()
        self.intermediate.dense = nn.Linear(c.hidden, c.inter)
        self.output = NS()
        self.output.dense = nn.Linear(c.inter, c.hidden)
        self.output.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, x, ext_mask):
        B, L, H = x.shape
        nh = self.c.heads
        hd = H // nh

        def split(t):
            return t.view(B, L, nh, hd).permute(0, 2, 1, 3)

        a = self.attention.self
        q, k, v = split(a.query(x)), split(a.key(x)), split(a.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext_mask
        ctx = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).reshape(B, L, H)
        x = self.attention.output.LayerNorm(self.attention.output.dense(ctx) + x)
        return self.output.LayerNorm(self.output.dense(F.gelu(self.intermediate.dense(x))) + x)


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Emb(c)
        self.encoder = NS()
        self.encoder.layer = nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.pooler = NS()
        self.pooler.dense = nn.Linear(c.hidden, c.hidden)

    def forward(self, ids, tt, mask):
        """Returns (hidden_states: embeddings + every layer's output, pooler_output)."""
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        hs = [self.embeddings(ids, tt)]
        for layer in self.encoder.layer:
            hs.append(layer(hs[-1], ext))
        return hs, torch.tanh(self.pooler.dense(hs[-1][:, 0]))


def hf_init(m, seed):
    """BertPreTrainedModel._init_weights: Linear/Embedding N(0, 0.02), biases 0, padding row 0, LayerNorm (1, 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear):
                mod.weight.copy_(0.02 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.zero_()
            elif isinstance(mod, nn.Embedding):
                mod.weight.copy_(0.02 * torch.randn(mod.weight.shape, generator=g))
                if mod.padding_idx is not None:
                    mod.weight[mod.padding_idx].zero_()
            elif isinstance(mod, nn.LayerNorm):
                mod.weight.fill_(1.0)
                mod.bias.zero_()
    return m


def perturb(m, seed, sigma=0.02):
    """Adds N(0, sigma²) to EVERY parameter, so a port that drops a bias, a LayerNorm scale or the padding row fails."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.add_(sigma * torch.randn(p.shape, generator=g))
    return m


def make_model(c, seed):
    torch.manual_seed(seed)
    return perturb(hf_init(Bert(c), seed + 1), seed + 2).eval()


def make_inputs(c, batch, seq, seed, pad_lengths):
    """Random ids ([CLS]=2 first, [SEP]=3 last real token, 0 = [PAD] after), token types 0 then 1 from mid-sentence.

    pad_lengths[i] is the number of padded positions at the end of row i.
    """
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, c.vocab, (batch, seq), generator=g)
    tt = torch.zeros(batch, seq, dtype=torch.long)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for i, p in enumerate(pad_lengths):
        n = seq - p
        ids[i, 0] = 2
        ids[i, n - 1] = 3
        tt[i, n // 2:n] = 1
        if p:
            ids[i, n:] = 0
            mask[i, n:] = 0
    return ids, tt, mask


def pool_mean(h, mask):
    """Mean over the real tokens: sum(h * m) / sum(m)."""
    m = mask[:, :, None].to(h.dtype)
    return (h * m).sum(1) / m.sum(1)


def pool_max(h, mask):
    """Max over the real tokens (padded positions set to finfo.min first)."""
    m = mask[:, :, None].bool()
    return h.masked_fill(~m, torch.finfo(h.dtype).min).max(1).values
