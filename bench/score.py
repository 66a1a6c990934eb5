"The one regret: how much worse training at a contestant's learning rate ends than the grid oracle of the same task and seed."
from __future__ import annotations
import math
import numpy as np

__all__ = ['LOSS_FLOOR', 'METRIC_FLOOR', 'relative_regret', 'lr_spread', 'filled', 'value_at', 'oracle', 'rule_row', 'trained_row', 'stats', 'by']

LOSS_FLOOR = 0.01  # a best loss counts as at least 1% of the untrained model's: near-perfect fits of tiny data blow up ratios
METRIC_FLOOR = 0.01  # a best metric (an error rate) counts as at least 0.01, for the same reason

def relative_regret(value:float, best:float, floor:float=0.0) -> float:
    "`(value - best) / max(best, floor)`; infinite when `value` is not finite"
    if not math.isfinite(value): return math.inf
    return (value - best) / max(best, floor)

def lr_spread(lrs) -> float:
    "Range of the finite learning rates `lrs` in decades (`log10(max/min)`), NaN when there are none"
    lrs = [lr for lr in lrs if lr is not None and math.isfinite(lr) and lr > 0]
    return float(np.log10(max(lrs) / min(lrs))) if lrs else math.nan

def filled(grid:list, key:str='valid_loss') -> tuple:
    "`(log10 lrs, values)` of a seed's grid rows, a diverged run's value replaced by the worst of the others (or the untrained loss)"
    xs = np.log10([r['lr'] for r in grid])
    ys = np.array([r[key] if math.isfinite(r[key]) and not r['diverged'] else math.nan for r in grid], dtype=np.float64)
    worst = np.nanmax(ys) if np.isfinite(ys).any() else math.inf
    if key == 'valid_loss': worst = max([worst] + [r['start_loss'] for r in grid if math.isfinite(r.get('start_loss', math.nan))])
    ys = np.where(np.isfinite(ys), ys, worst)
    o = np.argsort(xs)
    return xs[o], ys[o]

def value_at(grid:list, lr:float, key:str='valid_loss') -> float:
    "A seed's final `key` at `lr`, interpolated linearly in log10(lr) between grid rows (the end rows' values outside the grid)"
    if lr is None or not (math.isfinite(lr) and lr > 0): return math.inf
    xs, ys = filled(grid, key)
    return float(np.interp(math.log10(lr), xs, ys))

def oracle(grid:list) -> dict:
    "The grid oracle of one seed: its learning rate, loss and best metric, and the loss floor of its regret"
    xs, ys = filled(grid)
    _, ms = filled(grid, 'metric')
    start = float(np.median([r['start_loss'] for r in grid]))
    return dict(lr=float(10 ** xs[np.argmin(ys)]), valid_loss=float(ys.min()), metric=float(ms.min()), floor=LOSS_FLOOR * abs(start))

def rule_row(grid:list, lr:float) -> dict:
    "Loss, metric and their regrets of training at `lr`, read off the seed's grid"
    o, loss, met = oracle(grid), value_at(grid, lr), value_at(grid, lr, 'metric')
    return dict(lr=lr, valid_loss=loss, metric=met, loss_regret=relative_regret(loss, o['valid_loss'], o['floor']),
                metric_regret=relative_regret(met, o['metric'], floor=METRIC_FLOOR), trained=False, diverged=False)

def trained_row(grid:list, row:dict) -> dict:
    "Loss, metric and their regrets of a fit trained at its own LR (`row` as `Task.fit_at` returns it); diverged, it scores as the grid's diverged runs do"
    o = oracle(grid)
    diverged = bool(row.get('diverged')) or not math.isfinite(row['valid_loss'])
    loss = float(filled(grid)[1].max()) if diverged else row['valid_loss']
    met = float(filled(grid, 'metric')[1].max()) if diverged else row['metric']
    return dict(lr=row.get('lr'), valid_loss=loss, metric=met, loss_regret=relative_regret(loss, o['valid_loss'], o['floor']),
                metric_regret=relative_regret(met, o['metric'], floor=METRIC_FLOOR), trained=True, diverged=diverged)

def stats(rows:list) -> dict:
    "Median and worst loss and metric regret, LR spread in decades and failures of `rows`"
    lr, mr = [r['loss_regret'] for r in rows], [r['metric_regret'] for r in rows]
    return dict(median=float(np.median(lr)), worst=max(lr), metric_median=float(np.median(mr)), metric_worst=max(mr),
                spread=lr_spread(r['lr'] for r in rows), failed=sum(not math.isfinite(r['loss_regret']) for r in rows),
                diverged=sum(bool(r.get('diverged')) for r in rows), n=len(rows))

def by(rows:list, *keys) -> dict:
    "`rows` grouped by the values of `keys`, in order of first appearance"
    groups = {}
    for r in rows: groups.setdefault(tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]], []).append(r)
    return groups
