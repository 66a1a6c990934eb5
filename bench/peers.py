"The two peers that are not fastai rules, run the way their own libraries run them: Lightning's rule and the real torch-lr-finder."
from __future__ import annotations
import contextlib, io, math
from functools import partial
import torch
from torch import nn
from fastai.optimizer import SGD

__all__ = ['lightning_suggestion', 'torch_optimizer', 'torch_lr_finder_run']

def lightning_suggestion(lrs, losses, skip_begin:int=10, skip_end:int=1) -> float:
    "PyTorch Lightning's LR-finder suggestion on a whole range-test curve (NaN when under 2 finite points remain)"
    lrs = torch.as_tensor(lrs, dtype=torch.float64)[skip_begin:-skip_end]
    losses = torch.as_tensor(losses, dtype=torch.float64)[skip_begin:-skip_end]
    finite = torch.isfinite(losses)
    lrs, losses = lrs[finite], losses[finite]
    if len(losses) < 2: return math.nan
    return float(lrs[torch.gradient(losses, spacing=[lrs])[0].argmin()])

def torch_optimizer(learn, lr:float) -> torch.optim.Optimizer:
    "A torch optimizer equivalent to `learn.opt_func` at fastai's defaults (`Adam`, or `SGD` with its `mom`), over the trainable parameters"
    params = [p for p in learn.model.parameters() if p.requires_grad]
    f, kw = (learn.opt_func.func, learn.opt_func.keywords) if isinstance(learn.opt_func, partial) else (learn.opt_func, {})
    if f is SGD: return torch.optim.SGD(params, lr=lr, momentum=kw.get('mom', 0), weight_decay=learn.wd or 0)
    if getattr(f, '__name__', '') != 'Adam': raise ValueError(f"No torch equivalent known for opt_func {learn.opt_func!r}; the benchmark supports fastai's Adam and SGD")
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01 if learn.wd is None else learn.wd)

class _Unpack(nn.Module):
    "Call `model(*xs)` for a tuple of inputs"
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, xs): return self.model(*xs)

def _suggested(finder) -> float:
    "The learning rate `finder.plot(suggest_lr=True)` suggests, drawn on a closed figure; NaN when it stopped too early"
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    try: return float(finder.plot(ax=ax, suggest_lr=True)[1])
    except RuntimeError: return math.nan
    finally: plt.close(fig)

def torch_lr_finder_run(learn, start_lr:float=1e-7, end_lr:float=10, num_it:int=100, diverge_th:float=5) -> dict:
    "Run the `torch-lr-finder` package on `learn`'s model, data and loss; return its suggestion and curve"
    try: from torch_lr_finder import LRFinder, TrainDataLoaderIter
    except ImportError: raise ImportError("The benchmark needs torch-lr-finder: pip install 'fastlrx[dev]'") from None
    class FastaiBatches(TrainDataLoaderIter):
        def inputs_labels_from_batch(self, b): return tuple(b[:-1]), b[-1]
    finder = LRFinder(_Unpack(learn.model), torch_optimizer(learn, start_lr), learn.loss_func)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(FastaiBatches(learn.dls.train), start_lr=start_lr, end_lr=end_lr, num_iter=num_it, diverge_th=diverge_th)
        lr = _suggested(finder)
    finder.reset()
    return dict(lr=lr, lrs=[float(o) for o in finder.history['lr']], losses=[float(o) for o in finder.history['loss']])
