"Real training problems, each declared once: a seeded learner factory with its schedule, budget, family, grid and suite, in the registry `TASKS`."
from __future__ import annotations
import math, tempfile, time
from pathlib import Path
from typing import Callable
from functools import partial
import pandas as pd, torch
from torch import nn
from fastcore.basics import store_attr
from fastai.torch_core import set_seed
from fastai.callback.tracker import TerminateOnNaNCallback
import fastai.callback.progress, fastai.callback.schedule  # `no_bar`, `fit_one_cycle`, `fine_tune`, `lr_find`
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat, MSELossFlat
from fastai.metrics import error_rate, rmse
from fastai.optimizer import SGD
from fastai.data.transforms import RandomSplitter
from fastlrx.data import digits_dls, digits_cnn, pets_path, efficientnet_lite0, LITE0_STATS
from .registry import Registry

__all__ = ['is_diverged', 'SCHEDULES', 'SUITES', 'train_with', 'Task', 'log_grid', 'fixed_splitter', 'sklearn_frame', 'pets_learner', 'TASKS']

def is_diverged(valid_loss, start_loss:float) -> bool:
    "Whether a final validation loss is not finite or more than twice `start_loss`, the untrained model's"
    return valid_loss is None or not math.isfinite(valid_loss) or valid_loss > 2*start_loss

SCHEDULES = ('one_cycle', 'fit', 'flat_cos', 'fine_tune')
SUITES = ('suite', 'long')  # the benchmark's tasks; the long fits that evaluate the search (`bench.search`)

def train_with(learn, schedule:str, epochs:int, lr):
    "Train `learn` with fastai's `schedule` for `epochs` at `lr` (`fine_tune`'s `base_lr`)"
    if schedule == 'one_cycle': learn.fit_one_cycle(epochs, lr)
    elif schedule == 'fit': learn.fit(epochs, lr)
    elif schedule == 'flat_cos': learn.fit_flat_cos(epochs, lr)
    elif schedule == 'fine_tune': learn.fine_tune(epochs, base_lr=lr)
    else: raise ValueError(f"Unknown schedule {schedule!r}; choose one of {SCHEDULES}")

class Task:
    "A real training problem: a seeded learner factory, the fastai schedule a learning rate is judged by, and the grid of its oracle"
    def __init__(self,
                 name:str,                  # Key in `TASKS`; the shipped results are keyed by it
                 get_learner:Callable,      # `get_learner(seed) -> Learner` (data, model, loss, metric, optimizer), called after seeding
                 schedule:str,              # One of `SCHEDULES`
                 epochs:int,                # Epochs of the fit (after `fine_tune`'s one frozen epoch)
                 family:str,                # Tasks of one family share data and model; held out together
                 grid:tuple,                # `(lo, hi)` or `(lo, hi, per_decade)` (default 4): the log grid of learning rates its oracle is searched on
                 desc:str='',               # Model, data and schedule in words
                 metric:str='error_rate',   # Name of the (lower is better) metric `fit_at` reports
                 loss_name:str='cross-entropy',
                 default_lr:float|None=None, # fastai's own default LR for this schedule
                 suite:str='suite'):        # One of `SUITES`
        if schedule not in SCHEDULES: raise ValueError(f"Unknown schedule {schedule!r}; choose one of {SCHEDULES}")
        if suite not in SUITES: raise ValueError(f"Unknown suite {suite!r}; choose one of {SUITES}")
        if len(grid) not in (2, 3) or not 0 < grid[0] < grid[1]: raise ValueError(f"`grid` is `(lo, hi)` or `(lo, hi, per_decade)` with 0 < lo < hi, got {grid!r}")
        store_attr()
        self.grid = (*grid, 4)[:3]
        if default_lr is None: self.default_lr = 2e-3 if schedule == 'fine_tune' else 1e-3

    def train(self, learn, lr): train_with(learn, self.schedule, self.epochs, lr)

    def __repr__(self): return f"Task({self.name!r}: {self.desc})"

    def make_learner(self, seed:int=0) -> Learner:
        "A fresh learner, with every RNG seeded by `seed` before data and model are built"
        set_seed(seed, reproducible=True)
        learn = self.get_learner(seed)
        learn.path = Path(tempfile.gettempdir())/'fastlrx'
        return learn

    def fit_with(self, train:Callable, seed:int=0, cbs=()) -> dict:
        "Train a fresh learner with `train(learn) -> lr` (and callbacks `cbs`): the row of a trained result, its final validation loss, metric and training time"
        learn = self.make_learner(seed)
        with learn.no_bar(), learn.no_logging():
            start = float(learn.validate()[0])
            t0 = time.perf_counter()
            with learn.added_cbs([TerminateOnNaNCallback(), *cbs]): lr = train(learn)
            secs = time.perf_counter() - t0
            loss, *mets = map(float, learn.validate())
        return dict(lr=lr, seed=seed, valid_loss=loss if math.isfinite(loss) else math.inf, metric=mets[0] if mets else math.nan,
                    diverged=is_diverged(loss, start), start_loss=start, secs=secs)

    def fit_at(self, lr:float, seed:int=0, cbs=()) -> dict:
        "Train a fresh learner with the task's schedule at `lr` (with callbacks `cbs`): `fit_with`'s row"
        def train(learn):
            self.train(learn, lr)
            return lr
        return self.fit_with(train, seed, cbs)

    def lr_curve(self, seed:int=0, num_it:int=100, start_lr:float=1e-7, end_lr:float=10) -> dict:
        "Run stock `lr_find` on a fresh learner and return the full recorded curve (`fastlrx.suggest.raw_losses` gives its batch losses)"
        learn = self.make_learner(seed)
        with learn.no_bar(): learn.lr_find(start_lr, end_lr, num_it, show_plot=False, suggest_funcs=())
        return dict(seed=seed, num_it=num_it, lrs=[float(o) for o in learn.recorder.lrs],
                    losses=[float(o) for o in learn.recorder.losses])

# The grid

def log_grid(lo:float, hi:float, per_decade:int=4) -> list:
    "Learning rates `lo..hi` spaced evenly in log space, `per_decade` points per factor of 10"
    a, b = round(math.log10(lo)*per_decade), round(math.log10(hi)*per_decade)
    return [float(f"{10**(i/per_decade):.6g}") for i in range(a, b+1)]

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

def pets_learner(seed, size=128, bs=32):
    "Pretrained EfficientNet-Lite0 with fastai's head on the pets images, a fixed split: `fastlrx.pets`'s DataBlock, presized to 5/4"
    from fastai.vision.learner import vision_learner
    from fastlrx.pets import pets_datablock
    db = pets_datablock(size, LITE0_STATS, presize=size * 5 // 4, splitter=fixed_splitter(0.2, seed=42))
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

def _plain_cnn(width:int=16) -> nn.Sequential:
    "`digits_cnn` without BatchNorm: convolutions with bias and ReLU"
    def block(ni, nf, stride): return nn.Sequential(nn.Conv2d(ni, nf, 3, stride, 1), nn.ReLU())
    return nn.Sequential(block(1, width, 1), block(width, 2*width, 2), block(2*width, 4*width, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4*width, 10))

def _plain_cnn_learner(seed):
    "The CNN without BatchNorm on digits, SGD with momentum 0.9, bs 32"
    return Learner(digits_dls(bs=32, seed=seed), _plain_cnn(), loss_func=CrossEntropyLossFlat(), metrics=error_rate,
                   opt_func=partial(SGD, mom=0.9))

def _mlp_learner(seed, bs=256):
    "A 64-256-256-10 MLP on the digits pixels, AdamW (decoupled weight decay 0.1), batch size `bs`"
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return Learner(digits_dls(bs=bs, seed=seed), model, loss_func=CrossEntropyLossFlat(), metrics=error_rate, wd=0.1)

def _cancer_sgd_learner(seed):
    "`tabular_learner` on breast cancer, SGD with momentum 0.9, bs 8"
    from fastai.tabular.learner import tabular_learner
    from fastai.data.block import CategoryBlock
    return tabular_learner(_tabular_dls(sklearn_frame('breast_cancer'), CategoryBlock(), bs=8), layers=[200, 100],
                           opt_func=partial(SGD, mom=0.9), metrics=error_rate)

def _char_gru_learner(seed):
    from .text import char_gru_learner
    return char_gru_learner(seed)

def _char_transformer_learner(seed):
    from .text import char_transformer_learner
    return char_transformer_learner(seed)

_DIGITS = "sklearn digits (1438 train / 359 valid, split by seed)"
_CANCER = "sklearn breast cancer (456 train / 113 valid, 30 continuous columns, Normalize)"
_TEXT = "next character of the Python standard library's own sources (135k train / 15k valid characters, windows of 64)"

# The families that train one model at several budgets: what their tasks share, the name and epochs given at each

def _digits_cnn(name, epochs, suite='suite'): return Task(name, _digits_learner, 'one_cycle', epochs, 'digits_cnn', grid=(1e-4, 3.16), suite=suite,
    desc=f"{_DIGITS}, 3-block BatchNorm CNN (width 16), Adam (fastai defaults), cross-entropy, bs 64, fit_one_cycle({epochs}, lr)")
def _wine(name, epochs, suite='suite'): return Task(name, _wine_learner, 'fit', epochs, 'wine_sgd', grid=(1e-3, 10), suite=suite,
    desc="sklearn wine (143 train / 35 valid, 13 continuous columns, Normalize), MLP 13-50-3 without BatchNorm, "
    f"plain SGD (no momentum, no weight decay), cross-entropy, bs 16, fit({epochs}, lr) at constant lr")
def _plain(name, epochs): return Task(name, _plain_cnn_learner, 'fit', epochs, 'digits_plain', grid=(1e-3, 3.16),
    desc=f"{_DIGITS}, the same CNN without BatchNorm, SGD with momentum 0.9, cross-entropy, bs 32, fit({epochs}, lr) at constant lr")
def _mlp(name, epochs, bs=256, suite='suite'): return Task(name, partial(_mlp_learner, bs=bs), 'flat_cos', epochs, 'digits_mlp', grid=(1e-4, 1), suite=suite,
    desc=f"{_DIGITS}, MLP 64-256-256-10, AdamW (weight decay 0.1), cross-entropy, bs {bs}, fit_flat_cos({epochs}, lr)")
def _cancer_sgd(name, epochs, suite='suite'): return Task(name, _cancer_sgd_learner, 'one_cycle', epochs, 'cancer_sgd', grid=(1e-4, 1), suite=suite,
    desc=f"{_CANCER}, tabular_learner layers [200, 100], SGD with momentum 0.9, cross-entropy, bs 8, fit_one_cycle({epochs}, lr)")
def _gru(name, epochs): return Task(name, _char_gru_learner, 'one_cycle', epochs, 'char_gru', grid=(1e-4, 1),
    desc=f"{_TEXT}, character GRU language model, Adam, cross-entropy, bs 64, fit_one_cycle({epochs}, lr)")

TASKS = Registry(
    _digits_cnn('digits_cnn_1ep', 1), _digits_cnn('digits_cnn', 3), _digits_cnn('digits_cnn_9ep', 9),
    Task('pets_lite0', pets_learner, 'fine_tune', 2, 'pets_lite0', grid=(1.78e-4, 0.178),
         desc="Oxford-IIIT Pets sample (296 train / 74 valid, 37 breeds), ImageNet-pretrained timm "
              "efficientnet_lite0 + fastai head, Resize(160) + aug_transforms(size=128, min_scale=0.75), bs 32, "
              "Adam, fine_tune(2, base_lr=lr); lr_find on the fresh frozen learner"),
    Task('tabular_cancer', _cancer_learner, 'one_cycle', 5, 'tabular_cancer', grid=(1e-4, 1),
         desc=f"{_CANCER}, tabular_learner layers [200, 100], Adam, cross-entropy, bs 64, fit_one_cycle(5, lr)"),
    Task('diabetes_reg', _diabetes_learner, 'one_cycle', 5, 'diabetes_reg', grid=(1e-5, 1), metric='rmse', loss_name='mse',
         desc="sklearn diabetes (354 train / 88 valid, 10 continuous columns, Normalize, standardised target), "
              "tabular_learner layers [200, 100], Adam, MSE, bs 64, fit_one_cycle(5, lr)"),
    _wine('wine_sgd_2ep', 2), _wine('wine_sgd', 5), _wine('wine_sgd_20ep', 20),
    _plain('digits_plain_2ep', 2), _plain('digits_plain_6ep', 6), _plain('digits_plain_20ep', 20),
    _mlp('digits_mlp_2ep', 2), _mlp('digits_mlp_6ep', 6), _mlp('digits_mlp_24ep', 24),
    _cancer_sgd('cancer_sgd_bs8', 3),
    _gru('char_gru_1ep', 1), _gru('char_gru_4ep', 4),
    Task('char_transformer', _char_transformer_learner, 'flat_cos', 2, 'char_transformer', grid=(1e-4, 1),
         desc=f"{_TEXT}, 2-layer causal transformer language model, AdamW (weight decay 0.1), cross-entropy, bs 32, fit_flat_cos(2, lr)"),
    # The long fits, of 660 to 900 optimizer steps, where a budget of 50% or less pays for branches: the search's own evaluation
    _digits_cnn('digits_cnn_30ep', 30, suite='long'), _wine('wine_sgd_100ep', 100, suite='long'),
    _mlp('digits_mlp_bs32_20ep', 20, bs=32, suite='long'), _cancer_sgd('cancer_sgd_15ep', 15, suite='long'))
"Every task of the benchmark (`suite='suite'`) and of the search's long fits (`suite='long'`), by name"
