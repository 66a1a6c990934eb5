"""How sure the comparisons are: rows merged where they share one range-test curve, paired wins, a family-clustered
bootstrap interval of the difference in median regret, a family-weighted summary and the worst case in decades."""
from __future__ import annotations
import math
import numpy as np
from .score import by

__all__ = ['BOOT', 'unit_regrets', 'summary', 'paired', 'best_of', 'verdict']

BOOT = 2000  # bootstrap resamples of the families

def _decades(r:dict) -> float:
    "How far the row's LR is from its seed's oracle, in decades (NaN for a contestant with no LR of its own)"
    lr, o = r.get('lr'), r.get('oracle_lr')
    return abs(math.log10(lr / o)) if lr and o and math.isfinite(lr) and lr > 0 else math.nan

def unit_regrets(rows:list, contestant:str) -> dict:
    "`{(family, unit): mean regret}`: tasks that share one range-test curve (budget variants of one seed) count once"
    out = {}
    for (fam, unit), rs in by([r for r in rows if r['contestant'] == contestant], 'family', 'unit').items():
        out[(fam, unit)] = float(np.mean([r['loss_regret'] for r in rs]))
    return out

def summary(rows:list) -> dict:
    "Pooled median, 90th percentile and worst regret, worst decades from the oracle, the median of family medians, fits that diverged, picks that failed"
    reg = np.array([r['loss_regret'] for r in rows], dtype=np.float64)
    dec = np.array([_decades(r) for r in rows])
    fams = [float(np.median([r['loss_regret'] for r in rs])) for rs in by(rows, 'family').values()]
    return dict(median=float(np.median(reg)), p90=float(np.percentile(reg, 90)) if np.isfinite(reg).all() else
                float(np.sort(reg)[min(len(reg) - 1, int(math.ceil(0.9 * len(reg))) - 1)]),
                worst=float(reg.max()), worst_decades=float(np.nanmax(dec)) if np.isfinite(dec).any() else math.nan,
                median_decades=float(np.nanmedian(dec)) if np.isfinite(dec).any() else math.nan,
                family_median=float(np.median(fams)), failed=int((~np.isfinite(reg)).sum()),
                diverged=sum(bool(r.get('diverged')) for r in rows), n=len(rows))

def paired(rows:list, a:str, b:str, n_boot:int=BOOT, seed:int=0) -> dict:
    """`a` against `b` on the curve units both have: wins, losses, ties, and the 95% family-clustered bootstrap interval
    of `median(a) - median(b)` (negative: `a` has the lower regret)"""
    ua, ub = unit_regrets(rows, a), unit_regrets(rows, b)
    keys = [k for k in ua if k in ub]
    x, y = np.array([ua[k] for k in keys]), np.array([ub[k] for k in keys])
    d = x - y
    close = np.isclose(x, y, rtol=1e-9, atol=1e-12) | ((x == y) & ~np.isfinite(x))
    fams = sorted({k[0] for k in keys})
    idx = {f: [i for i, k in enumerate(keys) if k[0] == f] for f in fams}
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        take = np.concatenate([idx[f] for f in rng.choice(fams, len(fams))])
        diffs[i] = np.median(x[take]) - np.median(y[take])
    lo, hi = np.percentile(diffs[np.isfinite(diffs)], [2.5, 97.5]) if np.isfinite(diffs).any() else (math.nan, math.nan)
    return dict(a=a, b=b, units=len(keys), families=len(fams), wins=int(((d < 0) & ~close).sum()),
                losses=int(((d > 0) & ~close).sum()), ties=int(close.sum()), diff=float(np.median(x) - np.median(y)),
                lo=float(lo), hi=float(hi))

def best_of(summaries:dict, names) -> str:
    "The contestant among `names` with the lowest pooled median regret"
    return min((n for n in names if n in summaries), key=lambda n: summaries[n]['median'])

def verdict(p:dict) -> str:
    "'better', 'worse' or 'within noise', by whether the interval of `paired` excludes zero"
    if p['hi'] < 0: return 'better'
    if p['lo'] > 0: return 'worse'
    return 'within noise'
