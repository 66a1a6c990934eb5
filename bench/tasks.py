"Real training problems, each a seeded learner factory plus its schedule, and the grid oracle that judges a learning rate on them."
from __future__ import annotations
import math, tempfile, time
from pathlib import Path
from typing import Callable
import numpy as np, pandas as pd, torch
from fastcore.basics import store_attr, using_attr
from fastai.torch_core import set_seed
from fastai.callback.core import Callback
from fastai.callback.tracker import TerminateOnNaNCallback
import fastai.callback.progress, fastai.callback.schedule  # `no_bar`, `fit_one_cycle`, `fine_tune`, `lr_find`
from fastai.learner import Learner, Recorder
from fastai.losses import CrossEntropyLossFlat, MSELossFlat
from fastai.metrics import error_rate, rmse
from fastai.optimizer import SGD
from fastai.data.transforms import RandomSplitter
from fastlrx.data import digits_dls, digits_cnn, pets_path, efficientnet_lite0, LITE0_STATS

__all__ = ['RawLoss', 'is_diverged', 'Task', 'log_grid', 'lr_grid', 'median_losses', 'oracle_lr', 'good_lr_range',
           'fixed_splitter', 'sklearn_frame', 'digits_task', 'pets_task', 'cancer_task', 'diabetes_task', 'wine_task', 'TASKS']

class RawLoss(Callback):
    "Record the raw (unsmoothed) training loss of every batch in `self.losses`"
    order = Recorder.order + 1
    def before_fit(self): self.losses = []
    def after_batch(self):
        if self.training and len(self.yb): self.losses.append(float(self.learn.loss))

def is_diverged(valid_loss, start_loss:float) -> bool:
    "Whether a final validation loss is not finite or more than twice `start_loss`, the untrained model's"
    return valid_loss is None or not math.isfinite(valid_loss) or valid_loss > 2*start_loss

class Task:
    "A real training problem: a seeded learner factory and the schedule a learning rate is judged by"
    def __init__(self,
                 name:str,                  # Key in `TASKS`
                 get_learner:Callable,      # `get_learner(seed) -> Learner`, called after seeding
                 train:Callable,            # `train(learn, lr)` runs the task's schedule at `lr`
                 desc:str='',               # Model, data and schedule in words
                 metric:str='error_rate',   # Name of the (lower is better) metric `fit_at` reports
                 loss_name:str='cross-entropy'):
        store_attr()

    def __repr__(self): return f"Task({self.name!r}: {self.desc})"

    def make_learner(self, seed:int=0) -> Learner:
        "A fresh learner, with every RNG seeded by `seed` before data and model are built"
        set_seed(seed, reproducible=True)
        learn = self.get_learner(seed)
        learn.path = Path(tempfile.gettempdir())/'fastlrx'
        return learn

    def fit_at(self, lr:float, seed:int=0) -> dict:
        "Train a fresh learner at `lr` and return its final validation loss and metric"
        learn = self.make_learner(seed)
        with learn.no_bar(), learn.no_logging():
            start = float(learn.validate()[0])
            with learn.added_cbs(TerminateOnNaNCallback()): self.train(learn, lr)
            loss, *mets = map(float, learn.validate())
        return dict(lr=lr, seed=seed, valid_loss=loss if math.isfinite(loss) else math.inf,
                    metric=mets[0] if mets else math.nan, diverged=is_diverged(loss, start), start_loss=start)

    def lr_curve(self, seed:int=0, num_it:int=100, start_lr:float=1e-7, end_lr:float=10) -> dict:
        "Run stock `lr_find` on a fresh learner and return the full curve"
        learn, raw = self.make_learner(seed), RawLoss()
        with learn.no_bar(), learn.added_cbs(raw):
            learn.lr_find(start_lr, end_lr, num_it, show_plot=False, suggest_funcs=())
        return dict(seed=seed, num_it=num_it, lrs=[float(o) for o in learn.recorder.lrs],
                    losses=[float(o) for o in learn.recorder.losses], raw_losses=raw.losses)

# The grid oracle

def log_grid(lo:float, hi:float, per_decade:int=4) -> list:
    "Learning rates `lo..hi` spaced evenly in log space, `per_decade` points per factor of 10"
    a, b = round(math.log10(lo)*per_decade), round(math.log10(hi)*per_decade)
    return [float(f"{10**(i/per_decade):.6g}") for i in range(a, b+1)]

def lr_grid(task:Task, lrs, seeds=(0, 1), log:Callable|None=None) -> list:
    "`task.fit_at` for every learning rate in `lrs` and seed in `seeds`, as a list of rows"
    rows = []
    for lr in lrs:
        for seed in seeds:
            t0 = time.time()
            rows.append(task.fit_at(lr, seed))
            if log: log(f"{task.name} lr={lr:.3g} seed={seed} loss={rows[-1]['valid_loss']:.4g} "
                        f"{task.metric}={rows[-1]['metric']:.4g} ({time.time()-t0:.1f}s)")
    return rows

def median_losses(rows) -> dict:
    "Median final validation loss across seeds for each learning rate in `rows`, sorted by learning rate"
    by_lr = {}
    for r in rows:
        loss = r['valid_loss']
        by_lr.setdefault(r['lr'], []).append(math.inf if loss is None or not math.isfinite(loss) else loss)
    return {lr: float(np.median(by_lr[lr])) for lr in sorted(by_lr)}

def oracle_lr(rows) -> float:
    "The learning rate with the lowest median final validation loss"
    meds = median_losses(rows)
    return min(meds, key=meds.get)

def good_lr_range(rows, tol:float=0.25) -> tuple:
    "Smallest and largest learning rate whose median loss is within a factor `1+tol` of the oracle's"
    meds = median_losses(rows)
    best = min(meds.values())
    good = [lr for lr, m in meds.items() if m <= (1+tol)*best]
    return min(good), max(good)

# The data

def fixed_splitter(valid_pct:float=0.2, seed:int=42):
    "fastai's `RandomSplitter(valid_pct, seed)`, leaving torch's global RNG as it was"
    def _inner(o):
        with torch.random.fork_rng(devices=[]): return RandomSplitter(valid_pct, seed)(o)
    return _inner

def sklearn_frame(name:str='breast_cancer') -> pd.DataFrame:
    "A bundled sklearn dataset (`breast_cancer`, `diabetes`, `wine`, `iris`) as a DataFrame with a `target` column"
    import sklearn.datasets as skd
    loaders = dict(breast_cancer=skd.load_breast_cancer, diabetes=skd.load_diabetes, wine=skd.load_wine, iris=skd.load_iris)
    if name not in loaders: raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(loaders)}")
    df = loaders[name](as_frame=True).frame
    df.columns = [c.replace(' ', '_') for c in df.columns]
    return df

def _tabular_dls(df, y_block, bs=64):
    "Normalised continuous columns of `df`, split 80/20 with seed 42, `target` as `y_block`"
    from fastai.tabular.core import TabularPandas, Normalize
    from fastai.data.transforms import range_of
    splits = fixed_splitter(0.2, seed=42)(range_of(df))
    to = TabularPandas(df, procs=[Normalize], cont_names=[c for c in df.columns if c != 'target'], y_names='target',
                       y_block=y_block, splits=splits)
    return to.dataloaders(bs=bs, num_workers=0)

# The tasks

def _digits_learner(seed):
    "The BatchNorm CNN on digits, split by `seed`"
    return Learner(digits_dls(bs=64, seed=seed), digits_cnn(), loss_func=CrossEntropyLossFlat(), metrics=error_rate)

def _pets_learner(seed, size=128, bs=32):
    "Pretrained EfficientNet-Lite0 with fastai's head on the pets images, a fixed split"
    from fastai.vision.data import ImageBlock
    from fastai.data.block import DataBlock, CategoryBlock
    from fastai.data.transforms import get_image_files, RegexLabeller, Normalize
    from fastai.vision.augment import Resize, aug_transforms
    from fastai.vision.learner import vision_learner
    db = DataBlock((ImageBlock, CategoryBlock), get_items=get_image_files, splitter=fixed_splitter(0.2, seed=42),
                   get_y=using_attr(RegexLabeller(r'(.+)_\d+.jpg$'), 'name'), item_tfms=Resize(size*5//4),
                   batch_tfms=[*aug_transforms(size=size, min_scale=0.75), Normalize.from_stats(*LITE0_STATS)])
    dls = db.dataloaders(pets_path()/'images', bs=bs, num_workers=0)
    return vision_learner(dls, lambda pretrained=True, **kwargs: efficientnet_lite0(pretrained), metrics=error_rate, normalize=False)

def _cancer_learner(seed):
    "`tabular_learner` classifying breast cancer"
    from fastai.tabular.learner import tabular_learner
    from fastai.data.block import CategoryBlock
    return tabular_learner(_tabular_dls(sklearn_frame('breast_cancer'), CategoryBlock()), layers=[200, 100], metrics=error_rate)

def _diabetes_learner(seed):
    "`tabular_learner` regressing the standardised diabetes target"
    from fastai.tabular.learner import tabular_learner
    from fastai.data.block import RegressionBlock
    df = sklearn_frame('diabetes')
    df['target'] = ((df.target - df.target.mean()) / df.target.std()).astype('float32')
    return tabular_learner(_tabular_dls(df, RegressionBlock()), layers=[200, 100], loss_func=MSELossFlat(), metrics=rmse)

def _wine_learner(seed):
    "A 13-50-3 MLP without BatchNorm, plain SGD, on wine"
    from fastai.tabular.learner import tabular_learner
    from fastai.tabular.model import tabular_config
    from fastai.data.block import CategoryBlock
    return tabular_learner(_tabular_dls(sklearn_frame('wine'), CategoryBlock(), bs=16), layers=[50], opt_func=SGD,
                           config=tabular_config(use_bn=False, bn_cont=False), metrics=error_rate)

def _one_cycle(epochs):
    "A task's `train`: `fit_one_cycle(epochs, lr)`"
    return lambda learn, lr: learn.fit_one_cycle(epochs, lr)

digits_task = Task('digits_cnn', _digits_learner, _one_cycle(3),
                   desc="sklearn digits (1438 train / 359 valid, split by seed), 3-block BatchNorm CNN (width 16), "
                        "Adam (fastai defaults), cross-entropy, bs 64, fit_one_cycle(3, lr)")
pets_task = Task('pets_lite0', _pets_learner, lambda learn, lr: learn.fine_tune(2, base_lr=lr),
                 desc="Oxford-IIIT Pets sample (296 train / 74 valid, 37 breeds), ImageNet-pretrained timm "
                      "efficientnet_lite0 + fastai head, Resize(160) + aug_transforms(size=128, min_scale=0.75), bs 32, "
                      "Adam, fine_tune(2, base_lr=lr); lr_find on the fresh frozen learner")
cancer_task = Task('tabular_cancer', _cancer_learner, _one_cycle(5),
                   desc="sklearn breast cancer (456 train / 113 valid, 30 continuous columns, Normalize), tabular_learner "
                        "layers [200, 100], Adam, cross-entropy, bs 64, fit_one_cycle(5, lr)")
diabetes_task = Task('diabetes_reg', _diabetes_learner, _one_cycle(5),
                     desc="sklearn diabetes (354 train / 88 valid, 10 continuous columns, Normalize, standardised target), "
                          "tabular_learner layers [200, 100], Adam, MSE, bs 64, fit_one_cycle(5, lr)",
                     metric='rmse', loss_name='mse')
wine_task = Task('wine_sgd', _wine_learner, lambda learn, lr: learn.fit(5, lr),
                 desc="sklearn wine (143 train / 35 valid, 13 continuous columns, Normalize), MLP 13-50-3 without "
                      "BatchNorm, plain SGD (no momentum, no weight decay), cross-entropy, bs 16, fit(5, lr) at constant lr")

TASKS = {t.name: t for t in (digits_task, pets_task, cancer_task, diabetes_task, wine_task)}
