"""What a user might pick instead of an LR finder, at its library's recommended defaults: Prodigy (`prodigyopt`, lr 1
under the task's own schedule, `safeguard_warmup=True` where that schedule warms up) and Schedule-Free AdamW (`schedulefree`, its default lr at constant rate with warmup).
Both keep the library's betas and weight decay: fastai's `mom` schedule (`fit_one_cycle`) writes to an inert `mom` key,
never to `betas`; fastai's `wd` reaches `weight_decay` only when the learner sets one (`learn.wd`), as a task's own
regularisation, else the library default 0 stands."""
from __future__ import annotations
import itertools
from functools import partial
import torch
from torch import nn
from fastcore.foundation import L
from fastai.callback.core import Callback, TrainEvalCallback
from fastai.optimizer import OptimWrapper
from fastlrx.suggest import fit_steps
from .tasks import Task

__all__ = ['WARMUP_SCHEDULES', 'PRODIGY_LR', 'SF_LR', 'SF_WARMUP', 'prodigy_opt', 'schedulefree_opt', 'has_bn', 'recompute_bn',
           'ScheduleFreeMode', 'train_prodigy', 'train_schedulefree', 'fit_alternative']

PRODIGY_LR = 1.0    # Prodigy README: "We recommend using `lr=1.` (default) for all networks"
SF_LR = 0.0025      # `AdamWScheduleFree`'s default lr (also its MNIST example's)
SF_WARMUP = 0.05    # Warmup as a fraction of the run's steps (README: "Using learning rate warmup is recommended")

def _import(mod:str, pkg:str):
    "Module `mod`, with a hint to install `pkg` if it is missing"
    try: return __import__(mod)
    except ImportError: raise ImportError(f"The benchmark's alternatives need {pkg}: pip install {pkg}") from None

class _Wrapper(OptimWrapper):
    "`OptimWrapper` over `opt(groups, **kwargs)`: fastai's `wd` maps to `weight_decay`, its `mom` to an inert key, `betas` stay"
    def __init__(self, params, opt, **kwargs):
        ps = L(params)
        o = opt([dict(params=list(g)) for g in ps] if isinstance(ps[0], (L, list)) else [dict(params=list(ps))], **kwargs)
        for g in o.param_groups: g['mom'] = g['betas'][0]  # Written by fastai's schedulers, read by no one
        super().__init__(opt=o, hp_map={'weight_decay': 'wd'})

class _ProdigyWrapper(_Wrapper):
    "Prodigy under fastai: discriminative lrs and (un)freezing allowed"
    def step(self, closure=None):
        "Prodigy's step with every group at the largest lr, which is what Prodigy applies anyway (it raises on other per-group lrs than 0)"
        pgs = self.opt.param_groups
        lrs = [g['lr'] for g in pgs]
        for g in pgs: g['lr'] = max(lrs) if g['lr'] else 0.
        try: return self.opt.step(closure)
        finally:
            for g, lr in zip(pgs, lrs): g['lr'] = lr
    def clear_state(self):
        "Keep the state on `freeze`/`unfreeze`: Prodigy's step-size estimate lives partly in the groups, clearing half of it breaks it"

class _ScheduleFreeWrapper(_Wrapper):
    "Schedule-Free AdamW under fastai: (un)freezing restarts it"
    def clear_state(self):
        "Restart averaging, warmup and Adam's bias correction from the current weights, as a fresh optimizer would"
        super().clear_state()
        for g in self.opt.param_groups: g.update(k=0, weight_sum=0., lr_max=-1., train_mode=False)

WARMUP_SCHEDULES = ('one_cycle', 'fine_tune')  # fastai schedules that warm the LR up (`fine_tune` runs `fit_one_cycle`)

def prodigy_opt(params, lr:float=PRODIGY_LR, **kwargs) -> OptimWrapper:
    "fastai `opt_func` for `prodigyopt.Prodigy` at its defaults (betas (0.9, 0.999), no weight decay) and `kwargs`"
    return _ProdigyWrapper(params, _import('prodigyopt', 'prodigyopt').Prodigy, lr=lr, **kwargs)

def schedulefree_opt(params, lr:float=SF_LR, warmup_steps:int=0, **kwargs) -> OptimWrapper:
    "fastai `opt_func` for `schedulefree.AdamWScheduleFree` at its defaults; train with `ScheduleFreeMode`"
    return _ScheduleFreeWrapper(params, _import('schedulefree', 'schedulefree').AdamWScheduleFree, lr=lr,
                                warmup_steps=warmup_steps, **kwargs)

def has_bn(model:nn.Module) -> bool:
    "Whether `model` has BatchNorm layers"
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())

def recompute_bn(learn, n_batches:int=50):
    "Recompute BatchNorm running statistics at the current weights from up to `n_batches` training batches, then restore modes"
    modes = [(m, m.training) for m in learn.model.modules()]
    learn.model.train()
    try:
        with torch.no_grad():
            for b in itertools.islice(learn.dls.train, n_batches): learn.model(*b[:getattr(learn.dls, 'n_inp', len(b)-1)])
    finally:
        for m, t in modes: m.training = t

class ScheduleFreeMode(Callback):
    "Schedule-free optimizer in train mode for training, in eval mode (BatchNorm statistics recomputed) for validation and after fit"
    order = TrainEvalCallback.order + 1
    def __init__(self, bn_batches:int=50): self.bn_batches = bn_batches
    def before_train(self): self.learn.opt.opt.train()
    def before_validate(self): self._eval()
    def after_fit(self): self._eval()
    def _eval(self):
        "Switch the optimizer to its evaluation weights; refresh BatchNorm statistics if they changed"
        opt = self.learn.opt.opt
        if not any(g['train_mode'] for g in opt.param_groups): return
        opt.eval()
        if self.bn_batches and has_bn(self.learn.model): recompute_bn(self.learn, self.bn_batches)

def train_prodigy(task:Task, learn, bn_batches:int=50) -> float:
    "Prodigy under the task's own schedule at lr 1, with `safeguard_warmup` under a warm-up, as its authors advise"
    # `use_bias_correction` stays off, its default: the authors advise it for diffusion models, none of which is here
    safeguard = task.schedule in WARMUP_SCHEDULES
    learn.opt_func, learn.opt = partial(prodigy_opt, safeguard_warmup=safeguard), None  # `vision_learner` made one already
    task.train(learn, PRODIGY_LR)
    return PRODIGY_LR

def train_schedulefree(task:Task, learn, bn_batches:int=50) -> float:
    "Schedule-Free AdamW at constant default lr with warmup for the task's epochs (`fine_tune`: a frozen epoch, then restart unfrozen)"
    ft = task.schedule == 'fine_tune'
    warmup = max(1, round(SF_WARMUP * fit_steps(task.epochs, len(learn.dls.train), task.schedule)))
    learn.opt_func, learn.opt, cbs = partial(schedulefree_opt, warmup_steps=warmup), None, ScheduleFreeMode(bn_batches)
    if ft:
        learn.freeze()
        learn.fit(1, SF_LR, cbs=cbs)
        learn.unfreeze()
    learn.fit(task.epochs, SF_LR, cbs=cbs)
    return SF_LR

def fit_alternative(task:Task, seed:int, train, bn_batches:int=50) -> dict:
    "Train a fresh learner of `task` with an alternative optimizer, `train(task, learn, bn_batches) -> lr`: `Task.fit_with`'s row"
    return task.fit_with(partial(train, task, bn_batches=bn_batches), seed)
