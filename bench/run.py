"Running the benchmark: every range test and training run is a unit of work, kept in `work` so a stopped run resumes, and run in parallel processes."
from __future__ import annotations
import time, warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from .plan import BenchTask
from .store import save_json, read_json
from .alternatives import ALTERNATIVES

__all__ = ['RANGE_TEST', 'SHORT_TESTS', 'Unit', 'task_units', 'unit_environment', 'run_unit', 'run_units', 'collect_task', 'pick_units',
           'attach_picks', 'unpack_results', 'missing_units', 'select_tasks']

RANGE_TEST = dict(start_lr=1e-7, end_lr=10, num_it=100)
SHORT_TESTS = (25, 50)  # the shorter range tests a rule is also read on: `AutoLR` shortens its test to the fit

class Unit(tuple):
    "`(task, seed, kind, arg)`: a range test (`curve`, or `short` of `arg` steps), a training run (`fit` at LR `arg`), an alternative optimizer (`alt`) or an `autolr` run"
    def __new__(cls, task:str, seed:int, kind:str, arg=None): return super().__new__(cls, (task, seed, kind, arg))
    def __getnewargs__(self): return tuple(self)
    @property
    def key(self):
        task, seed, kind, arg = self
        return f"{kind}_s{seed}" + ('' if arg is None else f"_{arg:.6g}" if isinstance(arg, float) else f"_{arg}")
    def path(self, work): return Path(work)/self[0]/f'{self.key}.json'

def task_units(bt:BenchTask) -> list:
    "Every unit of `bt`: per seed the range tests, the grid, the alternatives and `AutoLR`"
    return [Unit(bt.name, s, k, a) for s in bt.seeds for k, a in
            [('curve', None), *(('short', n) for n in SHORT_TESTS), ('autolr', None), *(('alt', n) for n in ALTERNATIVES),
             *(('fit', lr) for lr in bt.grid)]]

def _curve(task, seed:int) -> dict:
    "Stock `lr_find` on a fresh learner (recorded, smoothed and raw losses), then torch-lr-finder's own range test"
    from .peers import torch_lr_finder_run
    t0 = time.perf_counter()
    rec = task.lr_curve(seed, **RANGE_TEST)
    t1 = time.perf_counter()
    learn = task.make_learner(seed)
    tlf = torch_lr_finder_run(learn, **RANGE_TEST)['lr']
    return dict(rec, steps_per_epoch=len(learn.dls.train), torch_lr_finder=tlf,
                secs=dict(lr_find=t1 - t0, torch_lr_finder=time.perf_counter() - t1))

def _autolr(task, seed:int) -> dict:
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

def unit_environment() -> dict:
    "What a unit was measured on: machine, versions, date"
    from .store import environment
    return {k: v for k, v in environment().items() if k in ('cpu', 'cores', 'torch', 'fastai', 'fastlrx', 'date')}

def run_unit(unit:Unit, work) -> str:
    "Run `unit` and save what it measured in `work`, with the machine and versions it ran on; returns its key"
    import torch
    from .tasks import TASKS
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    name, seed, kind, arg = unit
    task = TASKS[name]
    if kind == 'curve': res = _curve(task, seed)
    elif kind == 'short': res = task.lr_curve(seed, num_it=arg, start_lr=RANGE_TEST['start_lr'], end_lr=RANGE_TEST['end_lr'])
    elif kind == 'fit': res = task.fit_at(arg, seed)
    elif kind == 'alt':
        from .alternatives import fit_alternative
        res = fit_alternative(task, arg, seed)
    elif kind == 'autolr': res = _autolr(task, seed)
    else: raise ValueError(f"Unknown unit kind {kind!r}")
    save_json(dict(res, env=unit_environment()), unit.path(work))
    return unit.key

def run_units(units:list, work, procs:int=2, log=print, runner=None) -> int:
    "Run the `units` not yet in `work` with `runner` (default `run_unit`), in `procs` processes (1: in this one); returns how many ran"
    runner = runner or run_unit
    todo = [u for u in units if not u.path(work).exists()]
    if log: log(f"{len(units) - len(todo)} of {len(units)} units already in {work}; running {len(todo)} in {procs} process(es)")
    t0 = time.time()
    if procs <= 1:
        for i, u in enumerate(todo):
            runner(u, work)
            if log: log(f"[{i+1}/{len(todo)} {time.time()-t0:.0f}s] {u[0]} {u.key}")
        return len(todo)
    failed = []
    with ProcessPoolExecutor(procs, mp_context=get_context('fork')) as ex:
        futs = {ex.submit(runner, u, str(work)): u for u in todo}
        for i, f in enumerate(as_completed(futs)):
            u, err = futs[f], f.exception()
            if err is not None: failed.append(f"{u[0]} {u.key}: {type(err).__name__}: {err}")
            if log: log(f"[{i+1}/{len(todo)} {time.time()-t0:.0f}s] {u[0]} {u.key}" + (f" FAILED: {err!r}" if err else ''))
    if failed: raise RuntimeError(f"{len(failed)} unit(s) failed:\n" + '\n'.join(failed))
    return len(todo)

def collect_task(bt:BenchTask, work) -> dict|None:
    "`bt`'s results from `work`, one entry per seed; `None` unless every unit of the task is there"
    units = task_units(bt)
    if not all(u.path(work).exists() for u in units): return None
    t = bt.task
    runs = []
    for s in bt.seeds:
        get = lambda kind, arg=None: read_json(Unit(bt.name, s, kind, arg).path(work))
        runs.append(dict(get('curve'), seed=s, short={n: get('short', n) for n in SHORT_TESTS}, grid=[get('fit', lr) for lr in bt.grid],
                         alternatives={n: get('alt', n) for n in ALTERNATIVES}, autolr=get('autolr')))
    return dict(task=bt.name, family=t.family, schedule=t.schedule, epochs=t.epochs, default_lr=t.default_lr,
                description=t.desc, loss=t.loss_name, metric=t.metric, grid=bt.grid, seeds=list(bt.seeds),
                range_test=RANGE_TEST, runs=runs)

def pick_units(results:list) -> list:
    "The `fit` units at contestants' picks that the grids of `results` do not hold"
    from .evaluate import needed_fits
    return [Unit(task, seed, 'fit', lr) for (task, seed), lrs in needed_fits(results).items() for lr in lrs]

def attach_picks(results:list, work) -> list:
    "`results` with each run's fits at contestants' picks read from `work` (those that are there) as `picked`"
    have = {}
    for u in pick_units(results):
        if u.path(work).exists(): have.setdefault((u[0], u[1]), []).append(read_json(u.path(work)))
    for res in results:
        for r in res['runs']: r['picked'] = have.get((res['task'], r['seed']), [])
    return results

def unpack_results(report:dict, work) -> int:
    "Write the units behind a shipped report (`report['raw']`, its cost table) into `work`, so a run resumes from them; returns how many"
    n = 0
    def put(unit, obj):
        nonlocal n
        if not unit.path(work).exists(): save_json(obj, unit.path(work)); n += 1
    for res in report.get('raw', []):
        for r in res['runs']:
            name, s = res['task'], r['seed']
            curve = {k: v for k, v in r.items() if k not in ('seed', 'grid', 'alternatives', 'autolr', 'short', 'picked')}
            put(Unit(name, s, 'curve'), dict(curve, seed=s))
            for k, c in r.get('short', {}).items(): put(Unit(name, s, 'short', int(k)), c)
            put(Unit(name, s, 'autolr'), r['autolr'])
            for k, a in r['alternatives'].items(): put(Unit(name, s, 'alt', k), a)
            for g in (*r['grid'], *r.get('picked', ())): put(Unit(name, s, 'fit', g['lr']), g)
    if report.get('cost') and not (Path(work)/'cost.json').exists(): save_json(report['cost'], Path(work)/'cost.json'); n += 1
    return n

def missing_units(units:list, work) -> list:
    "The `units` that `work` lacks"
    return [u for u in units if not u.path(work).exists()]

def select_tasks(plan:list, tasks=None) -> list:
    "The `BenchTask`s of `plan` named in `tasks` (all when `None`); an unknown name is an error"
    if not tasks: return plan
    unknown = set(tasks) - {b.name for b in plan}
    if unknown: raise ValueError(f"Unknown tasks {sorted(unknown)}; the plan has {[b.name for b in plan]}")
    return [b for b in plan if b.name in tasks]
