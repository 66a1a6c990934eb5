"The one regret: how much worse training at a contestant's pick ends than the grid oracle of the same seed, and its summaries."
from __future__ import annotations
import math
import numpy as np
from .tasks import oracle_lr
from .contestants import PEERS

__all__ = ['relative_regret', 'lr_spread', 'score_task', 'oracle_lrs', 'summarize_task', 'overall', 'beats_peers']

def relative_regret(value:float, best:float, floor:float=0.0) -> float:
    "`(value - best) / max(best, floor)`; infinite when `value` is not finite"
    if not math.isfinite(value): return math.inf
    return (value - best) / max(best, floor)

def lr_spread(lrs) -> float:
    "Range of the finite learning rates `lrs` in decades (`log10(max/min)`), NaN when there are none"
    lrs = [lr for lr in lrs if math.isfinite(lr) and lr > 0]
    return float(np.log10(max(lrs) / min(lrs))) if lrs else math.nan

def _finite_min(xs):
    "The smallest finite value of `xs`, `inf` when there is none"
    return min((x for x in xs if math.isfinite(x)), default=math.inf)

def _score_run(task:str, run:dict) -> list:
    "One row per contestant of one seed's `run`"
    fits = {r['lr']: r for r in run['fits']}
    best_loss = _finite_min(r['valid_loss'] for r in run['grid'])
    best_metric = _finite_min(r['metric'] for r in run['grid'])
    rows = []
    for name, lr in run['picks'].items():
        fit = fits.get(lr, dict(valid_loss=math.inf, metric=math.inf))
        rows.append(dict(task=task, seed=run['seed'], contestant=name, lr=lr, valid_loss=fit['valid_loss'],
                         metric=fit['metric'], loss_regret=relative_regret(fit['valid_loss'], best_loss),
                         metric_regret=relative_regret(fit['metric'], best_metric, floor=0.01)))
    return rows

def score_task(res:dict) -> list:
    "One row per seed and contestant: the pick, its loss and metric, and their regrets"
    return [row for run in res['runs'] for row in _score_run(res['task'], run)]

def oracle_lrs(res:dict) -> list:
    "Per seed, the grid learning rate with the lowest final validation loss"
    return [oracle_lr(run['grid']) for run in res['runs']]

def _stats(rows) -> dict:
    "Median and worst loss and metric regret, LR spread and failures of `rows`"
    lr, mr = [r['loss_regret'] for r in rows], [r['metric_regret'] for r in rows]
    return dict(median=float(np.median(lr)), worst=max(lr), metric_median=float(np.median(mr)), metric_worst=max(mr),
                spread=lr_spread(r['lr'] for r in rows), failed=sum(not math.isfinite(r['lr']) for r in rows))

def _by_contestant(rows) -> dict:
    "`rows` grouped by contestant, in order of first appearance"
    groups = {}
    for r in rows: groups.setdefault(r['contestant'], []).append(r)
    return groups

def summarize_task(res:dict) -> dict:
    "For each contestant: median and worst regret over seeds (loss and metric), LR spread in decades, failures"
    return {c: _stats(rows) for c, rows in _by_contestant(score_task(res)).items()}

def _median_spread(per_task:list, c:str) -> float:
    "Median over tasks of contestant `c`'s finite LR spread"
    spreads = [t[c]['spread'] for t in per_task if c in t and math.isfinite(t[c]['spread'])]
    return float(np.median(spreads)) if spreads else math.nan

def overall(task_results:list) -> dict:
    "Per contestant: median and worst regret over every task and seed, and the median over tasks of the LR spread"
    per_task = [summarize_task(res) for res in task_results]
    groups = _by_contestant(r for res in task_results for r in score_task(res))
    return {c: {k: v for k, v in _stats(rows).items() if k != 'spread'} | dict(median_spread=_median_spread(per_task, c))
            for c, rows in groups.items()}

def beats_peers(summary:dict, name:str='recommended') -> dict:
    "Whether contestant `name` has strictly lower median and worst loss regret than every peer"
    return {k: all(summary[name][k] < summary[p][k] for p in PEERS) for k in ('median', 'worst')}
