"Two small character language-model tasks on the Python standard library's own sources: a GRU and a tiny causal transformer, offline and fast on one CPU thread."
from __future__ import annotations
import os, random, string, sysconfig
from pathlib import Path
import torch
from torch import nn
from fastai.torch_core import default_device
import fastai.callback.progress, fastai.callback.schedule  # `no_bar`, `fit_one_cycle`, `lr_find`
from fastai.data.load import DataLoader
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.metrics import error_rate
from fastai.optimizer import Adam

__all__ = ['SKIP_DIRS', 'stdlib_files', 'stdlib_text', 'VOCAB', 'encode', 'lm_windows', 'char_lm_dls', 'CharGRU',
           'TinyTransformer', 'char_gru_learner', 'char_transformer_learner']

SKIP_DIRS = {'site-packages', 'dist-packages', 'test', 'tests', 'idlelib'}

def stdlib_files() -> list:
    "Relative POSIX paths of the stdlib's `.py` files, sorted, without tests, `idlelib`, installed packages or the platform's `_sysconfigdata`"
    root, res = Path(sysconfig.get_paths()['stdlib']), []
    for dp, dns, fns in os.walk(root):
        dns[:] = [d for d in dns if d not in SKIP_DIRS]
        res += [(Path(dp)/f).relative_to(root).as_posix() for f in fns if f.endswith('.py') and not f.startswith('_sysconfigdata')]
    return sorted(res)

def stdlib_text(n_chars:int=300_000, offset:int=0) -> str:
    "`n_chars` characters from `offset` of the concatenated stdlib sources, the same on any machine with the same Python"
    root, parts, n = Path(sysconfig.get_paths()['stdlib']), [], 0
    for f in stdlib_files():
        if n >= offset + n_chars: break
        parts.append((root/f).read_bytes().decode('utf-8', errors='ignore'))
        n += len(parts[-1])
    return ''.join(parts)[offset:offset+n_chars]

VOCAB = ['<unk>'] + list(string.printable)  # 101 tokens: index 0 for anything not printable ASCII
_STOI = {c:i for i, c in enumerate(VOCAB)}

def encode(text:str) -> torch.Tensor:
    "Token ids of `text` in `VOCAB` (0 for unknown characters), as a long tensor"
    return torch.tensor([_STOI.get(c, 0) for c in text], dtype=torch.long)

def lm_windows(ids:torch.Tensor, seq_len:int=64) -> list:
    "Non-overlapping windows `w` of `seq_len+1` tokens as `(w[:-1], w[1:])` pairs"
    w = ids[:len(ids)//(seq_len+1)*(seq_len+1)].view(-1, seq_len+1)
    return list(zip(w[:, :-1], w[:, 1:]))

def char_lm_dls(seq_len:int=64, bs:int=64, n_chars:int=150_000, valid_pct:float=0.1, seed:int=0, device=None) -> DataLoaders:
    "Next-character `DataLoaders` on `stdlib_text(n_chars)`, validating on its last `valid_pct`; train order seeded by `seed`"
    ids = encode(stdlib_text(n_chars))
    cut = len(ids) - int(len(ids)*valid_pct)
    trn = DataLoader(lm_windows(ids[:cut], seq_len), bs=bs, shuffle=True, drop_last=True)
    trn.rng = random.Random(seed)  # fastai reseeds its `rng` from this one every epoch: a fixed order whatever the global RNGs
    val = DataLoader(lm_windows(ids[cut:], seq_len), bs=bs*2)
    return DataLoaders(trn, val, device=default_device() if device is None else device)

class CharGRU(nn.Module):
    "Embedding, GRU and a linear head: logits `(bs, seq, vocab)`"
    def __init__(self, vocab:int=len(VOCAB), emb:int=32, hidden:int=128, layers:int=1):
        super().__init__()
        self.emb, self.rnn, self.head = nn.Embedding(vocab, emb), nn.GRU(emb, hidden, layers, batch_first=True), nn.Linear(hidden, vocab)
    def forward(self, x): return self.head(self.rnn(self.emb(x))[0])

class TinyTransformer(nn.Module):
    "Causal decoder-only transformer (pre-norm, learned positions, final LayerNorm): logits `(bs, seq, vocab)`"
    def __init__(self, vocab:int=len(VOCAB), d:int=64, heads:int=4, layers:int=2, seq_len:int=64, dropout:float=0.):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq_len, d)
        layer = nn.TransformerEncoderLayer(d, heads, 4*d, dropout, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        self.register_buffer('mask', nn.Transformer.generate_square_subsequent_mask(seq_len), persistent=False)
    def forward(self, x):
        n = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(n, device=x.device))
        return self.head(self.norm(self.body(h, mask=self.mask[:n, :n], is_causal=True)))

def char_gru_learner(seed:int=0, bs:int=64) -> Learner:
    "`CharGRU` on the stdlib text, fastai's `Adam`, cross-entropy and `error_rate`"
    return Learner(char_lm_dls(bs=bs, seed=seed), CharGRU(), loss_func=CrossEntropyLossFlat(), metrics=error_rate)

def char_transformer_learner(seed:int=0, bs:int=32) -> Learner:
    "`TinyTransformer` on the stdlib text, `Adam` with decoupled weight decay 0.1 (AdamW), cross-entropy and `error_rate`"
    return Learner(char_lm_dls(bs=bs, seed=seed), TinyTransformer(), loss_func=CrossEntropyLossFlat(), metrics=error_rate,
                   opt_func=Adam, wd=0.1)
