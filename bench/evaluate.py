"Every contestant's learning rate and regret on every task and seed; fastlrx's fitted rules scored leave-one-family-out."
from __future__ import annotations
import hashlib, json, math
import numpy as np
from fastlrx.suggest import stable_edge, planned_factor, fit_steps
from .contestants import FASTAI_RULES, recommended_v01, curve_args, rule_pick, lightning_pick
from .score import rule_row, trained_row, filled, stats, oracle
from .lofo import Tuned, lofo_rows, objective

__all__ = ['EDGE_FACTORS', 'CORRECTIONS', 'ALPHAS', 'flat_runs', 'edge_of', 'RECOMMENDED', 'PLANNED_RULE',
           'curve_unit', 'same_lr', 'trained_at', 'picks', 'needed_fits', 'score_all', 'short_tests', 'fixed_lr_floor']

EDGE_FACTORS = [float(f"{10 ** (i / 8):.4g}") for i in range(-16, 1)]  # 0.01 .. 1, 8 per decade
CORRECTIONS = [float(f"{10 ** (i / 8):.4g}") for i in range(-8, 9)]  # k: 0.1 .. 10
ALPHAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]

def flat_runs(results:list) -> list:
    "One record per task and seed: the task's plan and family with the seed's curves, grid and trained contestants"
    return [dict(run, task=res['task'], family=res['family'], schedule=res['schedule'], epochs=res['epochs'],
                 default_lr=res['default_lr']) for res in results for run in res['runs']]

def edge_of(curve:dict) -> tuple:
    "`(stable edge, lowest LR, highest LR)` of a recorded curve as `lr_find` would pass it; NaNs when the rule cannot read it"
    lrs, losses, n = curve_args(curve)
    try: return stable_edge(lrs, losses, n), float(lrs[0]), float(lrs[-1])
    except ValueError: return math.nan, math.nan, math.nan

def _edge(r:dict, curve_key:str='') -> tuple:
    "The edge of run `r`'s stock curve (or of its `AutoLR` curve), cached in the record"
    key = f'_edge{curve_key}'
    if key not in r: r[key] = edge_of(r[curve_key] if curve_key else r)
    return r[key]

def _clipped(edge:tuple, factor:float) -> float:
    e, lo, hi = edge
    return float(np.clip(e * factor, lo, hi)) if math.isfinite(e) else math.nan

def _steps(r:dict) -> int: return fit_steps(r['epochs'], r['steps_per_epoch'], r['schedule'])
def _phi(r:dict) -> float: return 1. if r['schedule'] == 'fit' else 0.

RECOMMENDED = Tuned('recommended', lambda r, factor: _clipped(_edge(r), factor), [dict(factor=f) for f in EDGE_FACTORS])
"The default rule, `edge`, read off one stock `lr_find`: its one constant is the factor"

class _Planned(Tuned):
    "`planned`: `recommended`'s factor corrected by `(k, alpha)` on the constant-LR part, read off the stock curve or `AutoLR`'s own"
    def __init__(self, name, curve_key=''):
        super().__init__(name, self._pick, None)
        self.curve_key = curve_key
    def _pick(self, r, factor, k, alpha):
        if self.curve_key: steps, phi = r[self.curve_key]['steps'], r[self.curve_key]['final_frac']
        else: steps, phi = _steps(r), _phi(r)
        return _clipped(_edge(r, self.curve_key), planned_factor(steps, phi, factor, (k, alpha)))
    def choose(self, runs:list) -> dict:
        "The factor as `recommended` chooses it on all `runs`, then `(k, alpha)` on their constant-LR tasks (exact: no task mixes the two)"
        factor = RECOMMENDED.choose(runs)['factor']
        const = [r for r in runs if _phi(r) == 1.]
        if not const: return dict(factor=factor, k=1., alpha=0.)
        k, alpha = min(((k, a) for a in ALPHAS for k in CORRECTIONS),
                       key=lambda p: objective(self.rows(const, dict(factor=factor, k=p[0], alpha=p[1]))))
        return dict(factor=factor, k=k, alpha=alpha)

PLANNED_RULE = _Planned('planned')

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

def picks(results:list) -> tuple:
    """`(lrs, constants)`: `{(contestant, task, seed): lr}` of every contestant that picks from a range test (fastlrx's
    fitted rules with constants chosen without the family), and the constants of each fold and of the whole suite"""
    runs, out = flat_runs(results), {}
    for r in runs:
        key = lambda c: (c, r['task'], r['seed'])
        for name, f in FASTAI_RULES.items(): out[key(name)] = rule_pick(f, r)
        out[key('lightning')], out[key('torch_lr_finder')] = lightning_pick(r), r['torch_lr_finder']
        out[key('fastai_default')], out[key('recommended_v0.1')] = r['default_lr'], rule_pick(recommended_v01, r)
    constants = {}
    for rule in (RECOMMENDED, PLANNED_RULE):
        lofo, chosen = lofo_rows(rule, runs)
        out.update({(rule.name, row['task'], row['seed']): row['lr'] for row in lofo})
        constants[rule.name] = dict(per_family=chosen, all_families=rule.choose(runs))
    return out, constants

def needed_fits(results:list) -> dict:
    "`{(task, seed): [lr, ...]}`: the picks that no grid row trained yet (rounded to 6 digits, as the units store them)"
    lrs, out = picks(results)[0], {}
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

def score_all(results:list, read:bool=False) -> dict:
    """Rows of every contestant on every run, all trained at their own pick (`read=True`: picks read off the seed's grid
    instead, the fast way to explore a rule), and the constants of fastlrx's rules: per held-out family and on the whole suite"""
    lrs, constants = picks(results)
    per_run = {}
    for (c, task, seed), lr in lrs.items(): per_run.setdefault((task, seed), {})[c] = lr
    rows = []
    for r in flat_runs(results):
        g = r['grid']
        for c, lr in per_run[(r['task'], r['seed'])].items():
            if not (lr and math.isfinite(lr) and lr > 0): rows.append(_row(r, c, _no_lr(lr))); continue
            rows.append(_row(r, c, rule_row(g, lr) if read else dict(trained_row(g, trained_at(r, lr)), lr=lr)))
        for n, alt in r['alternatives'].items(): rows.append(dict(_row(r, n, trained_row(g, alt)), oracle_lr=None))  # no LR to compare
        rows.append(_row(r, 'AutoLR', trained_row(g, r['autolr'])))
    return dict(rows=rows, constants=constants)

def short_tests(results:list) -> dict:
    "`planned`'s leave-one-family-out stats when it reads stock range tests of 25, 50 and 100 steps, constants refitted for each"
    runs, out = flat_runs(results), {}
    for n in (*sorted(results[0]['runs'][0]['short'], key=int), 100):
        key = '' if n == 100 else f'short{n}'
        if key:
            for r in runs: r[key] = dict(r['short'][n], steps=_steps(r), final_frac=_phi(r))
        out[int(n)] = stats(lofo_rows(_Planned('planned', curve_key=key), runs)[0])
    return out

def fixed_lr_floor(results:list) -> list:
    "Rows of the best single grid LR per task (lowest median loss over its seeds): the regret a rule has even when it is right on average"
    rows = []
    for res in results:
        lrs = res['grid']
        meds = [np.median([np.interp(math.log10(lr), *filled(run['grid'])) for run in res['runs']]) for lr in lrs]
        best = lrs[int(np.argmin(meds))]
        for run in flat_runs([res]): rows.append(_row(run, 'best_fixed_lr', rule_row(run['grid'], best)))
    return rows
