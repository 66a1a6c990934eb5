"Every contestant's learning rate and regret on every task and seed, for a registry of contestants; fitted rules scored leave-one-family-out."
from __future__ import annotations
import hashlib, json, math
import numpy as np
from .score import rule_row, trained_row, filled, oracle
from .lofo import lofo_rows

__all__ = ['flat_runs', 'record', 'curve_unit', 'same_lr', 'trained_at', 'picks', 'needed_fits', 'score_all', 'reference_rows', 'fixed_lr_floor']

def flat_runs(results:list) -> list:
    "One record per task and seed: the task's plan and family with the seed's curves, grid and trained contestants"
    return [dict(run, task=res['task'], family=res['family'], schedule=res['schedule'], epochs=res['epochs'],
                 default_lr=res['default_lr']) for res in results for run in res['runs']]

def record(run:dict, at:tuple):
    "What `run` keeps at the path of keys `at` (a contestant's own fit)"
    for k in at: run = run[k]
    return run

def curve_unit(r:dict) -> str:
    "A fingerprint of run `r`'s recorded range test: budget variants of one seed that share a curve share it"
    return hashlib.sha1(json.dumps([r['seed'], r['lrs'], r['losses']]).encode()).hexdigest()[:12]

def same_lr(a:float, b:float) -> bool:
    "Whether two learning rates are one: within 1e-5 decades (a unit's key keeps 6 digits)"
    return abs(math.log10(a / b)) < 1e-5

def trained_at(r:dict, lr:float) -> dict:
    "The fit of run `r` at `lr`: a grid row, or a fit at a contestant's pick (`r['picked']`); a `KeyError` naming it if absent"
    for row in (*r['grid'], *r.get('picked', ())):
        if same_lr(row['lr'], lr): return row
    raise KeyError(f"{r['task']} seed {r['seed']}: no fit at lr {lr:.6g}; run `python -m bench` to train it")

def _row(r, name, row): return dict(row, task=r['task'], family=r['family'], seed=r['seed'], contestant=name,
                                    unit=curve_unit(r), oracle_lr=oracle(r['grid'])['lr'])

def picks(results:list, contestants) -> tuple:
    """`(lrs, constants)`: `{(contestant, task, seed): lr}` of every contestant of the registry `contestants` that picks
    from a run's range tests (its fitted rules with constants chosen without the family), and the constants of each fold and of the whole suite"""
    runs, out, constants = flat_runs(results), {}, {}
    for r in runs:
        for c in contestants.values():
            if c.pick: out[(c.name, r['task'], r['seed'])] = c.pick(r)
    for c in contestants.values():
        if not c.tuned: continue
        lofo, chosen = lofo_rows(c.tuned, runs)
        out.update({(c.name, row['task'], row['seed']): row['lr'] for row in lofo})
        constants[c.name] = dict(per_family=chosen, all_families=c.tuned.choose(runs))
    return out, constants

def needed_fits(results:list, contestants) -> dict:
    "`{(task, seed): [lr, ...]}`: the picks that no grid row trained yet (rounded to 6 digits, as the units store them)"
    lrs, out = picks(results, contestants)[0], {}
    grids = {(r['task'], r['seed']): r['grid'] for r in flat_runs(results)}
    for (c, task, seed), lr in lrs.items():
        if not (lr and math.isfinite(lr) and lr > 0): continue
        lr = float(f"{lr:.6g}")
        if any(same_lr(g['lr'], lr) for g in grids[(task, seed)]): continue
        out.setdefault((task, seed), [])
        if lr not in out[(task, seed)]: out[(task, seed)].append(lr)
    return out

def _no_lr(lr:float) -> dict:
    "The row of a contestant that gave no learning rate: a failure"
    return dict(lr=lr, valid_loss=math.inf, metric=math.inf, loss_regret=math.inf, metric_regret=math.inf, trained=False, diverged=False)

def score_all(results:list, contestants, read:bool=False) -> dict:
    """Rows of every contestant of the registry `contestants` on every run, all trained at their own pick (`read=True`:
    picks read off the seed's grid instead, the fast way to explore a rule), and the constants of its fitted rules:
    per held-out family and on the whole suite. The references are not in them: `reference_rows` gives theirs"""
    lrs, constants = picks(results, contestants)
    per_run = {}
    for (c, task, seed), lr in lrs.items(): per_run.setdefault((task, seed), {})[c] = lr
    rows = []
    for r in flat_runs(results):
        g = r['grid']
        for c, lr in per_run.get((r['task'], r['seed']), {}).items():
            if not (lr and math.isfinite(lr) and lr > 0): rows.append(_row(r, c, _no_lr(lr))); continue
            rows.append(_row(r, c, rule_row(g, lr) if read else dict(trained_row(g, trained_at(r, lr)), lr=lr)))
        for c in contestants.values():
            if not c.fit: continue
            row = _row(r, c.name, trained_row(g, record(r, c.fit.at)))
            rows.append(row if c.fit.compare_lr else dict(row, oracle_lr=None))  # an LR of another scale: nothing to compare
    return dict(rows=rows, constants=constants)

def reference_rows(results:list, contestants) -> list:
    "The rows of every reference of the registry `contestants`, as its `rows(results)` gives them, under its name"
    return [dict(row, contestant=c.name) for c in contestants.values() if c.rows for row in c.rows(results)]

def fixed_lr_floor(results:list) -> list:
    "Rows of the best single grid LR per task (lowest median loss over its seeds): the regret a rule has even when it is right on average"
    rows = []
    for res in results:
        lrs = res['grid']
        meds = [np.median([np.interp(math.log10(lr), *filled(run['grid'])) for run in res['runs']]) for lr in lrs]
        best = lrs[int(np.argmin(meds))]
        for run in flat_runs([res]): rows.append(_row(run, 'best_fixed_lr', rule_row(run['grid'], best)))
    return rows
