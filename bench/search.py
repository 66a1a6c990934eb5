"""The search that asks the fit (`AutoLR(budget=...)`, `Learner.lr_search`), measured on the suite against what a user
would do instead: the curve rules, `AutoLR` with its curve rule, and a grid search of three full fits around fastai's
`minimum`. Every contestant is trained at its own pick; regrets, intervals and summaries are those of the benchmark.

    python -m bench.search [--budgets 0.1,0.25,0.5] [--procs 2] [--tasks a,b] [--work fastlrx_bench/full] [--no-run]

It reuses the benchmark's units (the shipped ones are unpacked into `work` when it is absent) and adds, per task and
seed, one fit with `AutoLR(budget=b)` for each budget and the grid search's fits the grid lacks. It writes
`bench/results/search.json` (with `--out`), prints the main table, the budget sweep, the cost per task, and the
prediction table of `bench.probes` (how well a branch's validation loss ranks the full fits)."""
from __future__ import annotations
import math, warnings
from pathlib import Path
import numpy as np
from fastcore.script import call_parse
from .store import load_results, save_json, read_json, RESULTS
from .score import trained_row, by, oracle
from .run import Unit, unpack_results, run_units, run_unit, attach_picks, unit_environment
from .evaluate import flat_runs, score_all, picks, same_lr, trained_at, curve_unit
from fastlrx.suggest import fit_steps
from .uncertainty import summary, paired, verdict
from .report import collect
from .tasks import TASKS
from .contestants import CONTESTANTS

__all__ = ['BUDGETS', 'GRID3', 'PAIRED_WITH', 'search_name', 'grid3_lrs', 'compared', 'search_units', 'run_search_unit', 'search_rows',
           'search_report', 'main_table', 'sweep_table', 'cost_table', 'prediction_table', 'long_runs', 'long_picks', 'long_units', 'long_rows',
           'unpack_search', 'main']

BUDGETS = (0.1, 0.25, 0.5)
GRID3 = (-0.5, 0., 0.5)  # decades around fastai's `minimum`: the careful user's three full fits
PAIRED_WITH = ('minimum', 'recommended', 'grid3', 'AutoLR')  # each budget is paired with these; `planned` is AutoLR's rule on the stock curve

def search_name(budget:float) -> str: return f"search_{round(budget * 100)}"

def grid3_lrs(minimum_lr:float) -> list:
    "The grid search's three LRs around `minimum`'s pick, rounded as units store them"
    return [float(f"{minimum_lr * 10 ** d:.6g}") for d in GRID3]

def compared(contestants=CONTESTANTS) -> list:
    "What the search is measured against: the contestants of the registry shown in the search (`Contestant.shown`), then the grid search"
    return [*(c.name for c in contestants.values() if 'search' in c.shown), 'grid3']

def search_units(results:list, budgets=BUDGETS, tasks=None, contestants=CONTESTANTS) -> list:
    "Per task (of `tasks`, default all) and seed: one `AutoLR(budget=b)` fit per budget, and the grid search's fits that no unit trained yet"
    lrs, units = picks(results, contestants)[0], []
    for r in flat_runs(results):
        if tasks and r['task'] not in tasks: continue
        units += [Unit(r['task'], r['seed'], 'search', b) for b in budgets]
        for lr in grid3_lrs(lrs[('minimum', r['task'], r['seed'])]):
            try: trained_at(r, lr)
            except KeyError: units.append(Unit(r['task'], r['seed'], 'fit', lr))
    return units

def run_search_unit(unit:Unit, work, tasks=TASKS, contestants=CONTESTANTS) -> str:
    "A fit with `AutoLR(budget=...)` (kind `search`) saved in `work`; any other unit as `run.run_unit` runs it"
    if unit[2] != 'search': return run_unit(unit, work, tasks, contestants)
    import torch
    from fastlrx.autolr import AutoLR
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    name, seed, kind, budget = unit
    task = tasks[name]
    auto = AutoLR(budget=budget)
    res = task.fit_at(task.default_lr, seed, cbs=[auto])
    h = auto.history
    res = dict(res, lr=h[0].lr, searches=[dict(lr=c.lr, curve_lr=c.result.curve_lr, fallback=c.result.fallback, steps=c.result.steps,
                                               budget_steps=c.result.budget_steps, fit_steps=c.result.fit_steps, secs=c.result.secs,
                                               probes=c.result.probes) for c in h])
    save_json(dict(res, env=unit_environment()), unit.path(work))
    return unit.key

def _grid3_row(r:dict, minimum_lr:float, work) -> dict:
    "The grid search's result: of its three full fits, the one with the lowest validation loss"
    fits = []
    for lr in grid3_lrs(minimum_lr):
        try: fits.append(trained_at(r, lr))
        except KeyError: fits.append(read_json(Unit(r['task'], r['seed'], 'fit', lr).path(work)))
    return min(fits, key=lambda f: f['valid_loss'] if math.isfinite(f['valid_loss']) and not f['diverged'] else math.inf)

def _added_rows(runs:list, minimum:dict, oracle_lrs:dict, work, budgets) -> list:
    "Rows of the grid search (around `minimum[(task, seed)]`) and of the search at each budget"
    rows = []
    for r in runs:
        key = (r['task'], r['seed'])
        base = dict(task=r['task'], family=r['family'], seed=r['seed'], unit=curve_unit(r), oracle_lr=oracle_lrs[key],
                    fit_steps=fit_steps(r['epochs'], r['steps_per_epoch'], r['schedule']))
        g3 = _grid3_row(r, minimum[key], work)
        rows.append(dict(trained_row(r['grid'], g3), lr=g3['lr'], contestant='grid3', **base))
        for b in budgets:
            s = read_json(Unit(r['task'], r['seed'], 'search', b).path(work))
            rows.append(dict(trained_row(r['grid'], s), lr=s['lr'], contestant=search_name(b), budget=b, secs=s['secs'],
                             searches=s['searches'], **base))
    return rows

def search_rows(results:list, work, budgets=BUDGETS, tasks=None, contestants=CONTESTANTS) -> list:
    "Rows (of `tasks`, default all) of the benchmark's contestants, the grid search and the search at each budget, all trained at their own pick"
    shown = compared(contestants)
    rows = [row for row in score_all(results, contestants)['rows'] if row['contestant'] in shown and (not tasks or row['task'] in tasks)]
    lrs, runs = picks(results, contestants)[0], [r for r in flat_runs(results) if not tasks or r['task'] in tasks]
    oracle_lrs = {(x['task'], x['seed']): x['oracle_lr'] for x in rows}
    return rows + _added_rows(runs, {(r['task'], r['seed']): lrs[('minimum', r['task'], r['seed'])] for r in runs}, oracle_lrs, work, budgets)

def _long_fits(contestants) -> list:
    "The contestants shown in the search that train themselves: on the long fits too"
    return [c for c in contestants.values() if c.fit and 'search' in c.shown]

def long_runs(plan:list, work, contestants=CONTESTANTS) -> list:
    "One record per long task and seed: its stock curve, grid, and the fits of the contestants shown in the search that train themselves"
    runs = []
    for bt in plan:
        for s in bt.seeds:
            get = lambda kind, arg=None: read_json(Unit(bt.name, s, kind, arg).path(work))
            runs.append(dict(get('curve'), task=bt.name, family=bt.task.family, schedule=bt.task.schedule, epochs=bt.task.epochs,
                             seed=s, grid=[get('fit', lr) for lr in bt.grid], fits={c.name: get(c.fit.kind, c.fit.arg) for c in _long_fits(contestants)}))
    return runs

def long_picks(r:dict, constants:dict, contestants=CONTESTANTS) -> dict:
    "The picks on a long run's stock curve of the contestants shown in the search that read one; fitted rules at `constants`' whole-suite fit (fastlrx's shipped constants)"
    return {c.name: c.pick(r) if c.pick else c.tuned.pick(r, **constants[c.name]['all_families'])
            for c in contestants.values() if 'search' in c.shown and (c.pick or c.tuned)}

def long_units(plan:list, constants:dict, budgets=BUDGETS, work=None, contestants=CONTESTANTS) -> list:
    "The long fits' units: first curves, grids, contestants' own fits and searches; once the curves are in `work`, the fits at the rules' picks and the grid search's"
    units = [Unit(bt.name, s, k, a) for bt in plan for s in bt.seeds for k, a in
             [('curve', None), *((c.fit.kind, c.fit.arg) for c in _long_fits(contestants)), *(('search', b) for b in budgets),
              *(('fit', lr) for lr in bt.grid)]]
    if work is None: return units
    for bt in plan:
        for s in bt.seeds:
            fn = Unit(bt.name, s, 'curve').path(work)
            if not fn.exists(): continue
            r = dict(read_json(fn), epochs=bt.task.epochs, schedule=bt.task.schedule)
            p = long_picks(r, constants, contestants)
            for lr in {float(f"{v:.6g}") for v in p.values() if math.isfinite(v)} | set(grid3_lrs(p['minimum'])):
                if not any(same_lr(lr, g) for g in bt.grid): units.append(Unit(bt.name, s, 'fit', lr))
    return units

def long_rows(plan:list, work, constants:dict, budgets=BUDGETS, contestants=CONTESTANTS) -> list:
    "Rows of every contestant on the long fits, trained at its own pick"
    runs, rows, minimum = long_runs(plan, work, contestants), [], {}
    for r in runs:
        key, o = (r['task'], r['seed']), oracle(r['grid'])['lr']
        base = dict(task=r['task'], family=r['family'], seed=r['seed'], unit=curve_unit(r), oracle_lr=o)
        p = long_picks(r, constants, contestants)
        minimum[key] = p['minimum']
        for c, lr in p.items():
            lr6 = float(f"{lr:.6g}")
            fit = next((g for g in r['grid'] if same_lr(g['lr'], lr6)), None) or read_json(Unit(r['task'], r['seed'], 'fit', lr6).path(work))
            rows.append(dict(trained_row(r['grid'], fit), lr=lr, contestant=c, **base))
        for c, fit in r['fits'].items(): rows.append(dict(trained_row(r['grid'], fit), lr=fit['lr'], contestant=c, **base))
    return rows + _added_rows(runs, minimum, {(x['task'], x['seed']): x['oracle_lr'] for x in rows}, work, budgets)

def _time_ratio(r:dict) -> float:
    "The fit with its searches over the same fit without them, both timed in the same run"
    spent = sum(s['secs'] for s in r['searches'])
    return r['secs'] / max(r['secs'] - spent, 1e-9)

def _fit_secs(r:dict) -> float: return r['secs'] - sum(s['secs'] for s in r['searches'])

def search_report(rows:list, budgets=BUDGETS, contestants=CONTESTANTS) -> dict:
    "Summaries, paired comparisons of each budget with the alternatives, the budget sweep and the cost per task, from `rows`"
    names = [*compared(contestants), *map(search_name, budgets)]
    summ = {c: summary([r for r in rows if r['contestant'] == c]) for c in names}
    vs = {f'{a} vs {b}': paired(rows, a, b) for a in map(search_name, budgets) for b in PAIRED_WITH if b in names}
    sweep = []
    for b in budgets:
        rs = [r for r in rows if r['contestant'] == search_name(b)]
        ran = [r for r in rs if any(not s['fallback'] for s in r['searches'])]
        where = {(r['task'], r['seed']) for r in ran}
        sweep.append(dict(budget=b, **{k: summ[search_name(b)][k] for k in ('median', 'p90', 'worst', 'worst_decades')},
                          searched=len(ran), units=len(rs), cost=float(np.median([_time_ratio(r) for r in rs])),
                          share=float(np.median([sum(s['steps'] for s in r['searches']) / r['fit_steps'] for r in rs])),
                          median_searched=float(np.median([r['loss_regret'] for r in ran])) if ran else math.nan,
                          autolr_on_searched=float(np.median([x['loss_regret'] for x in rows if x['contestant'] == 'AutoLR'
                                                              and (x['task'], x['seed']) in where])) if ran else math.nan))
    cost = []
    for task, rs in by([r for r in rows if r['contestant'].startswith('search_')], 'task').items():
        cost.append(dict(task=task, fit_steps=rs[0]['fit_steps'], fit_secs=float(np.median([_fit_secs(r) for r in rs])),
                         **{search_name(b): float(np.median([_time_ratio(r) for r in rs if r['budget'] == b])) for b in budgets},
                         **{f"{search_name(b)}_searched": sum(any(not s['fallback'] for s in r['searches']) for r in rs if r['budget'] == b) for b in budgets}))
    return dict(budgets=list(budgets), summary=summ, versus=vs, sweep=sweep, cost=cost, prediction=_prediction(), rows=rows)

def _prediction() -> list:
    "From `bench/results/probes.json`: per schedule and branch length, the median rank correlation of branch and full-fit loss"
    fn = RESULTS/'probes.json'
    if not fn.exists(): return []
    rows = read_json(fn)['rows']
    return [dict(schedule=s, frac=f, spearman=float(np.nanmedian([r['spearman'] for r in rs])), regret=float(np.median([r['regret'] for r in rs])),
                 p90=float(np.percentile([r['regret'] for r in rs], 90)), n=len(rs)) for (s, f), rs in by(rows, 'schedule', 'frac').items()]

def _f(v, d=2): return '-' if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{d}f}"

def main_table(rep:dict) -> str:
    "Markdown: every contestant's regret, and each search budget against the others with 95% family-clustered intervals"
    head = '| contestant | median | 90th pct | worst | worst, decades |\n|---|---|---|---|---|'
    body = [f"| {c} | {_f(s['median'])} | {_f(s['p90'])} | {_f(s['worst'])} | {_f(s['worst_decades'])} |" for c, s in rep['summary'].items()]
    vs = '| comparison | W-L-T | median diff [95% CI] | verdict |\n|---|---|---|---|'
    vb = [f"| {k} | {p['wins']}-{p['losses']}-{p['ties']} | {p['diff']:+.2f} [{p['lo']:+.2f}, {p['hi']:+.2f}] | {verdict(p)} |" for k, p in rep['versus'].items()]
    return '\n'.join([head, *body]) + '\n\n' + '\n'.join([vs, *vb])

def sweep_table(rep:dict) -> str:
    "Markdown: per budget, regret, how many task-seeds the budget paid for branches, and the cost"
    head = ('| budget | median | 90th pct | worst | worst, decades | searched | median where searched (AutoLR there) | steps / fit | time / fit |\n'
            '|---|---|---|---|---|---|---|---|---|')
    return '\n'.join([head] + [f"| {s['budget']:.0%} | {_f(s['median'])} | {_f(s['p90'])} | {_f(s['worst'])} | {_f(s['worst_decades'])} | "
                               f"{s['searched']} of {s['units']} | {_f(s['median_searched'])} ({_f(s['autolr_on_searched'])}) | {_f(s['share'])} | {_f(s['cost'])} |"
                               for s in rep['sweep']])

def cost_table(rep:dict) -> str:
    "Markdown: per task, the fit's steps and seconds, and the time of the fit with the search over the fit alone at each budget"
    bs = [search_name(b) for b in rep['budgets']]
    head = f"| task | fit steps | fit s | {' | '.join(f'{b} (searched)' for b in bs)} |\n|---|---|---|{'---|' * len(bs)}"
    return '\n'.join([head] + [f"| {c['task']} | {c['fit_steps']} | {c['fit_secs']:.2f} | " + ' | '.join(f"{c[b]:.2f}× ({c[b + '_searched']})" for b in bs) + ' |'
                               for c in rep['cost']])

def prediction_table(rep:dict) -> str:
    "Markdown: how well a branch of each length ranks the full fits (`bench.probes`)"
    head = '| schedule | branch / fit | median rank correlation | regret of the branch-picked LR: median | 90th pct | task-seeds |\n|---|---|---|---|---|---|'
    return '\n'.join([head] + [f"| {p['schedule']} | 1/{round(1 / p['frac'])} | {p['spearman']:.2f} | {p['regret']:.3f} | {p['p90']:.2f} | {p['n']} |" for p in rep['prediction']])

def _units_of(units:list, work) -> dict:
    "`{task/key: unit}` of the `units` in `work`: what a report ships so that it rebuilds without training"
    return {f"{u[0]}/{u.key}": read_json(u.path(work)) for u in units if u.path(work).exists()}

def unpack_search(report:dict, work, long_work) -> int:
    "Write the units a shipped search report holds into `work` (suite) and `long_work` (long fits); returns how many"
    n = 0
    for kind, root in (('suite', work), ('long', long_work)):
        for k, obj in report.get('units', {}).get(kind, {}).items():
            fn = Path(root)/f'{k}.json'
            if not fn.exists(): save_json(obj, fn); n += 1
    return n

def _print(title:str, rep:dict):
    print(f"# {title}\n\n## The search against the alternatives\n\n{main_table(rep)}\n\n## Budget sweep\n\n{sweep_table(rep)}\n\n"
          f"## Cost per task\n\n{cost_table(rep)}\n")

@call_parse
def main(budgets:str='0.1,0.25,0.5,1.0', # Budgets of the search, as shares of the fit
         procs:int=2,                     # Processes side by side
         tasks:str=None,                  # Comma-separated suite tasks (default: all)
         work:str='fastlrx_bench/full',   # The benchmark's units; the shipped ones are unpacked here when it is absent
         long_work:str='fastlrx_bench/long', # The long fits' units
         no_run:bool=False,               # Train nothing: rebuild from the units (the shipped report's when absent)
         out:str=None):                   # Where to write the report (default bench/results/search.json)
    "Measure the search at each budget against the curve rules, AutoLR and a 3-fit grid search, on the suite and on long fits"
    warnings.filterwarnings('ignore')
    from .plan import bench_plan, long_plan
    from .run import select_tasks
    bs, work, long_work = tuple(float(b) for b in budgets.split(',')), Path(work), Path(long_work)
    if not work.exists(): print(f"{unpack_results(load_results('full'), work)} shipped units unpacked into {work}")
    if not long_work.exists() and (RESULTS/'search.json').exists():
        print(f"{unpack_search(read_json(RESULTS/'search.json'), work, long_work)} shipped units unpacked")
    only = [b.name for b in select_tasks(bench_plan(False), tasks.split(',') if tasks else None)]
    results = attach_picks(collect(bench_plan(False), work), work)  # the rules' constants are fitted on the whole suite
    constants = picks(results, CONTESTANTS)[1]
    for phase in (1, 2):  # the long fits' picks need their curves first
        todo = [u for u in search_units(results, bs, only) if not u.path(work).exists()]
        todo += [u for u in long_units(long_plan(), constants, bs, long_work if phase == 2 else None) if not u.path(long_work).exists()]
        if todo and no_run: raise SystemExit(f"--no-run: {len(todo)} unit(s) missing, e.g. {todo[0][0]} {todo[0].key}")
        suite = [u for u in todo if u[0] in only]
        if suite: run_units(suite, work, procs, runner=run_search_unit)
        if len(todo) > len(suite): run_units([u for u in todo if u[0] not in only], long_work, procs, runner=run_search_unit)
    rep = dict(suite=search_report(search_rows(results, work, bs, only), bs),
               long=search_report(long_rows(long_plan(), long_work, constants, bs), bs),
               environment=unit_environment(), units=dict(suite=_units_of(search_units(results, bs, only), work),
                                                          long=_units_of(long_units(long_plan(), constants, bs, long_work), long_work)))
    save_json(rep, out or RESULTS/'search.json')
    _print('The suite', rep['suite']); _print('Long fits', rep['long'])
    print(f"## How well a branch predicts the full fit\n\n{prediction_table(rep['suite'])}")
