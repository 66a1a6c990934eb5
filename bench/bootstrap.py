"""Does the bootstrap of one range test measure what repeated range tests measure? `python -m bench.bootstrap`

For each task and seed, `lr_find_plus(n_runs=R)` repeats the test from the same starting point with new data orders,
and `lr_find_plus(bootstrap=B)` resamples the first of those runs. For each rule we compare the spread of the picks
(inter-quartile range, in decades) and count how often a rerun's pick falls inside the bootstrap's 50% and 90%
intervals: an estimate of the same uncertainty would cover 50% and 90% of them."""
from __future__ import annotations
import argparse, math, warnings
import numpy as np
from fastai.callback.schedule import valley, steep, minimum
import fastlrx.finder  # adds Learner.lr_find_plus
from fastlrx.suggest import recommended
from bench.tasks import TASKS
from bench.store import environment, save_json

RULES = (recommended, valley, steep, minimum)
FAST_TASKS = ('digits_cnn', 'tabular_cancer', 'diabetes_reg', 'wine_sgd')

def _iqr(p) -> float:
    p = np.log10(np.asarray(p, dtype=float)[np.isfinite(p)])
    return float(np.subtract(*np.percentile(p, [75, 25]))) if len(p) > 1 else math.nan

def _inside(picks, boot, lo:float, hi:float) -> float:
    "Fraction of `picks` inside the [`lo`, `hi`] percentile interval of `boot`"
    a, b = np.percentile(boot[np.isfinite(boot)], [lo, hi])
    return float(np.mean((picks >= a) & (picks <= b)))

def compare(task, seed:int=0, n_runs:int=8, n_boot:int=200) -> list:
    "One row per rule: rerun spread, bootstrap spread, and how often reruns fall inside the bootstrap's intervals"
    kw = dict(suggest_funcs=RULES, show_plot=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = task.make_learner(seed)
        with learn.no_bar(), learn.no_logging(): runs = learn.lr_find_plus(n_runs=n_runs, **kw)
        learn = task.make_learner(seed)
        with learn.no_bar(), learn.no_logging(): boot = learn.lr_find_plus(bootstrap=n_boot, **kw)
    rows = []
    for nm in runs._fields:
        reruns, b = runs.picks[nm][1:], boot.boot_picks[nm]
        rows.append(dict(task=task.name, seed=seed, rule=nm, rerun_spread=_iqr(runs.picks[nm]), boot_spread=_iqr(b),
                         cover50=_inside(reruns, b, 25, 75), cover90=_inside(reruns, b, 5, 95)))
    return rows

def summary(rows:list) -> list:
    "Per rule: median spreads over task-seed pairs, their ratio, and the mean coverage"
    res = []
    for nm in dict.fromkeys(r['rule'] for r in rows):
        rs = [r for r in rows if r['rule'] == nm]
        med = lambda k: float(np.nanmedian([r[k] for r in rs]))
        res.append(dict(rule=nm, pairs=len(rs), rerun_spread=med('rerun_spread'), boot_spread=med('boot_spread'),
                        ratio=float(np.nanmedian([r['boot_spread'] / max(r['rerun_spread'], 0.01) for r in rs])),
                        cover50=float(np.mean([r['cover50'] for r in rs])), cover90=float(np.mean([r['cover90'] for r in rs]))))
    return res

def table(summ:list) -> str:
    "A markdown table of `summary`"
    head = '| rule | task-seed pairs | rerun spread (decades) | bootstrap spread (decades) | ratio | reruns in the 50% interval | reruns in the 90% interval |'
    lines = [head, '|' + '---|' * 7]
    lines += [f"| {s['rule']} | {s['pairs']} | {s['rerun_spread']:.2f} | {s['boot_spread']:.2f} | {s['ratio']:.1f} | "
              f"{s['cover50']:.0%} | {s['cover90']:.0%} |" for s in summ]
    return '\n'.join(lines)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tasks', default=','.join(FAST_TASKS))
    p.add_argument('--seeds', type=int, default=2)
    p.add_argument('--out', default='bench/results/bootstrap.json')
    a = p.parse_args()
    rows = [r for t in a.tasks.split(',') for s in range(a.seeds) for r in compare(TASKS[t], s)]
    summ = summary(rows)
    save_json(dict(environment=environment(), rows=rows, summary=summ), a.out)
    print(table(summ))

if __name__ == '__main__': main()
