"""Who competes, each declared once in the registry `CONTESTANTS`: its name, its group, how its learning rate is
obtained (in words, for the tables), and how it runs: a pick read off a run's recorded range tests, a rule whose
constants are chosen leave one family out, a fit it trains itself as a unit of work, or a reference's own rows."""
from __future__ import annotations
import math, warnings
from functools import partial
from operator import itemgetter
from typing import Callable
import numpy as np, torch
from fastcore.basics import store_attr
from fastai.callback.schedule import valley, minimum, steep, slide
from fastlrx.suggest import stable_edge, planned_factor, fit_steps, lr_find_trim, FINAL_FRAC
from .registry import Registry
from .lofo import Tuned, objective
from .peers import lightning_suggestion
from .history import recommended_v01
from .alternatives import fit_alternative, train_prodigy, train_schedulefree
from .evaluate import fixed_lr_floor

__all__ = ['GROUPS', 'Fit', 'Contestant', 'alternative', 'curve_args', 'rule_pick', 'lightning_pick', 'EDGE_FACTORS', 'CORRECTIONS',
           'ALPHAS', 'edge_of', 'run_steps', 'final_frac', 'RECOMMENDED', 'Planned', 'PLANNED_RULE', 'autolr_fit', 'CONTESTANTS',
           'PEERS', 'ALTERNATIVES', 'FASTLRX']

GROUPS = ('peer', 'alternative', 'fastlrx', 'reference')  # the tables' order: peers, alternatives, fastlrx, then the references

class Fit:
    "How a contestant that trains itself runs: unit `(kind, arg)` of each task and seed, `run(task, seed)` its row (as `Task.fit_with` gives it), kept in each run at the keys `at`"
    def __init__(self, kind:str, run:Callable, arg=None, at:tuple|None=None,
                 compare_lr:bool=True): # False: its LR is on another scale (Prodigy's 1 is a multiplier), no distance to the oracle's
        store_attr('kind,run,arg,compare_lr')
        self.at = tuple(at or (kind,))
    def __repr__(self): return f"Fit({self.kind!r}, {self.arg!r})"

class Contestant:
    "A contestant, declared once: `name`, `group` (one of `GROUPS`), `how` its LR is obtained, and exactly one of `pick`, `tuned`, `fit` or `rows`"
    def __init__(self, name:str, group:str, how:str,
                 pick:Callable|None=None,   # `pick(run) -> lr`, read off a run's recorded range tests (NaN: no LR); trained at it
                 tuned:Tuned|None=None,     # a rule whose constants are chosen leave one family out; trained at its pick
                 fit:Fit|None=None,         # a fit it trains itself, one unit of work per task and seed
                 rows:Callable|None=None,   # a reference: `rows(results) -> list` of scored rows, in no comparison
                 versus:tuple=(),           # the contestants it is paired with in the report's paired comparisons
                 shown:tuple=()):           # the other tables it is shown in: 'sweep' (the budget sweep), 'search' (`bench.search`)
        if group not in GROUPS: raise ValueError(f"{name}: unknown group {group!r}; choose one of {GROUPS}")
        given = [k for k, v in dict(pick=pick, tuned=tuned, fit=fit, rows=rows).items() if v is not None]
        if len(given) != 1: raise ValueError(f"{name}: give exactly one of pick, tuned, fit or rows, not {given or 'none'}")
        if (group == 'reference') != (rows is not None): raise ValueError(f"{name}: a reference, and only a reference, gives `rows`")
        store_attr()
    def __repr__(self): return f"Contestant({self.name!r}, {self.group}: {self.how})"

def alternative(name:str, train:Callable) -> Fit:
    "The `Fit` of an alternative optimizer trained by `train(task, learn, bn_batches) -> lr`: unit `alt_s<seed>_<name>`, kept in a run's `alternatives`"
    return Fit('alt', partial(fit_alternative, train=train), arg=name, at=('alternatives', name), compare_lr=False)

# Picks read off a recorded run

def curve_args(curve:dict) -> tuple:
    "`(lrs, losses, num_it)` as stock `lr_find` passes them to a suggestion function: the recorded curve without its first tenth and last 5 points"
    lrs, losses = lr_find_trim(curve['lrs'], curve['losses'], curve['num_it'])
    return torch.tensor(lrs), torch.tensor(losses), curve['num_it']

def rule_pick(func, curve:dict) -> float:
    "The learning rate `func` suggests on `curve` (NaN when it fails, as `lr_find` would have raised)"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: lr = float(func(*curve_args(curve))[0])
        except Exception: return math.nan
    return lr if math.isfinite(lr) and lr > 0 else math.nan

def lightning_pick(curve:dict) -> float:
    "Lightning's rule on the whole recorded curve"
    return lightning_suggestion(curve['lrs'], curve['losses'])

# fastlrx's rules, their constants chosen leave one family out

EDGE_FACTORS = [float(f"{10 ** (i / 8):.4g}") for i in range(-16, 1)]  # 0.01 .. 1, 8 per decade
CORRECTIONS = [float(f"{10 ** (i / 8):.4g}") for i in range(-8, 9)]  # k: 0.1 .. 10
ALPHAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]

def edge_of(curve:dict) -> tuple:
    "`(stable edge, lowest LR, highest LR)` of a recorded curve as `lr_find` would pass it; NaNs when the rule cannot read it"
    lrs, losses, n = curve_args(curve)
    try: return stable_edge(lrs, losses, n), float(lrs[0]), float(lrs[-1])
    except ValueError: return math.nan, math.nan, math.nan

def _edge(r:dict, curve_key:str='') -> tuple:
    "The edge of run `r`'s stock curve (or of the curve at `r[curve_key]`), cached in the record"
    key = f'_edge{curve_key}'
    if key not in r: r[key] = edge_of(r[curve_key] if curve_key else r)
    return r[key]

def _clipped(edge:tuple, factor:float) -> float:
    e, lo, hi = edge
    return float(np.clip(e * factor, lo, hi)) if math.isfinite(e) else math.nan

def run_steps(r:dict) -> int:
    "Optimizer steps of run `r`'s fit"
    return fit_steps(r['epochs'], r['steps_per_epoch'], r['schedule'])

def final_frac(r:dict) -> float:
    "The last LR of run `r`'s schedule over its peak: 1 for a constant `fit`, 0 for the annealed ones"
    return FINAL_FRAC[r['schedule']]

RECOMMENDED = Tuned('recommended', lambda r, factor: _clipped(_edge(r), factor), [dict(factor=f) for f in EDGE_FACTORS])
"The default rule, `edge`, read off one stock `lr_find`: its one constant is the factor"

class Planned(Tuned):
    "`planned`: `recommended`'s factor corrected by `(k, alpha)` on the constant-LR part, read off the stock curve or the curve at `r[curve_key]`"
    def __init__(self, name, curve_key=''):
        super().__init__(name, self._pick, None)
        self.curve_key = curve_key
    def _pick(self, r, factor, k, alpha):
        if self.curve_key: steps, phi = r[self.curve_key]['steps'], r[self.curve_key]['final_frac']
        else: steps, phi = run_steps(r), final_frac(r)
        return _clipped(_edge(r, self.curve_key), planned_factor(steps, phi, factor, (k, alpha)))
    def choose(self, runs:list) -> dict:
        "The factor as `recommended` chooses it on all `runs`, then `(k, alpha)` on their constant-LR tasks (exact: no task mixes the two)"
        factor = RECOMMENDED.choose(runs)['factor']
        const = [r for r in runs if final_frac(r) == 1.]
        if not const: return dict(factor=factor, k=1., alpha=0.)
        k, alpha = min(((k, a) for a in ALPHAS for k in CORRECTIONS),
                       key=lambda p: objective(self.rows(const, dict(factor=factor, k=p[0], alpha=p[1]))))
        return dict(factor=factor, k=k, alpha=alpha)

PLANNED_RULE = Planned('planned')

# Fits a contestant runs itself

def autolr_fit(task, seed:int) -> dict:
    "A real fit with `AutoLR` (fastlrx's defaults), timed, and the same fit without it at fastai's default LR"
    import fastlrx
    from fastlrx.autolr import AutoLR
    plain = task.fit_at(task.default_lr, seed)
    auto = AutoLR()
    res = task.fit_at(task.default_lr, seed, cbs=[auto])
    first, h = auto.history[0].result, auto.history
    return dict(res, lr=h[0].lr, fastlrx=fastlrx.__version__, plain_secs=plain['secs'], plain_valid_loss=plain['valid_loss'],
                picks=[c.lr for c in h], ratios=[c.ratio for c in h], steps=h[0].plan['steps'], final_frac=h[0].plan['final_frac'],
                lrs=[float(o) for o in first.lrs], losses=[float(o) for o in first.losses], num_it=first.num_it)

# The registry

CONTESTANTS = Registry(
    Contestant('minimum', 'peer', 'its rule (fastai)', pick=partial(rule_pick, minimum), shown=('sweep', 'search')),
    Contestant('steep', 'peer', 'its rule (fastai)', pick=partial(rule_pick, steep)),
    Contestant('slide', 'peer', 'its rule (fastai)', pick=partial(rule_pick, slide)),
    Contestant('valley', 'peer', 'its rule (fastai)', pick=partial(rule_pick, valley), shown=('sweep',)),
    Contestant('lightning', 'peer', 'its rule (Lightning)', pick=lightning_pick),
    Contestant('torch_lr_finder', 'peer', 'its own range test', pick=itemgetter('torch_lr_finder')),  # run beside the stock one, in the `curve` unit
    Contestant('fastai_default', 'alternative', 'no finder: fastai default LR', pick=itemgetter('default_lr')),
    Contestant('prodigy', 'alternative', 'lr=1, safeguard_warmup under warm-up', fit=alternative('prodigy', train_prodigy)),
    Contestant('schedulefree', 'alternative', 'its defaults', fit=alternative('schedulefree', train_schedulefree)),
    Contestant('recommended_v0.1', 'fastlrx', "tuned on 0.1's 5 tasks", pick=partial(rule_pick, recommended_v01)),
    Contestant('recommended', 'fastlrx', 'leave-one-family-out', tuned=RECOMMENDED, versus=('minimum', 'recommended_v0.1'),
               shown=('sweep', 'search')),
    Contestant('planned', 'fastlrx', 'leave-one-family-out', tuned=PLANNED_RULE, versus=('minimum',), shown=('sweep', 'search')),
    Contestant('AutoLR', 'fastlrx', 'shipped constants (in-sample)', fit=Fit('autolr', autolr_fit), versus=('minimum',),
               shown=('sweep', 'search')),
    Contestant('best_fixed_lr', 'reference', 'reference: best grid LR per task', rows=fixed_lr_floor))
"Every contestant, in the tables' order"

PEERS, ALTERNATIVES, FASTLRX = (CONTESTANTS.names(group=g) for g in GROUPS[:3])
