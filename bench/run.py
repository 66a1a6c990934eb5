"Running the benchmark: every range test and training run is a unit of work, kept in `work` so a stopped run resumes, and run in parallel processes; the tasks and contestants are those of the registries passed (default `TASKS`, `CONTESTANTS`)."
from __future__ import annotations
import time, warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from .plan import BenchTask
from .store import save_json, read_json
from .tasks import TASKS
from .contestants import CONTESTANTS
from .evaluate import record, needed_fits

__all__ = ['RANGE_TEST', 'SHORT_TESTS', 'Unit', 'fits', 'task_units', 'unit_environment', 'run_unit', 'run_units', 'collect_task', 'pick_units',
           'attach_picks', 'unpack_results', 'missing_units', 'select_tasks']

RANGE_TEST = dict(start_lr=1e-7, end_lr=10, num_it=100)
SHORT_TESTS = (25, 50)  # the shorter range tests a rule is also read on: `AutoLR` shortens its test to the fit

class Unit(tuple):
    "`(task, seed, kind, arg)`: a range test (`curve`, or `short` of `arg` steps), a training run (`fit` at LR `arg`), or a contestant's own fit (its `Fit`'s kind and arg: `alt`, `autolr`)"
    def __new__(cls, task:str, seed:int, kind:str, arg=None): return super().__new__(cls, (task, seed, kind, arg))
    def __getnewargs__(self): return tuple(self)
    @property
    def key(self):
        task, seed, kind, arg = self
        return f"{kind}_s{seed}" + ('' if arg is None else f"_{arg:.6g}" if isinstance(arg, float) else f"_{arg}")
    def path(self, work): return Path(work)/self[0]/f'{self.key}.json'

def fits(contestants) -> dict:
    "`{(kind, arg): Fit}` of the contestants of the registry `contestants` that train themselves"
    out = {}
    for c in contestants.values():
        if not c.fit: continue
        key = (c.fit.kind, c.fit.arg)
        if key in out or c.fit.kind in ('curve', 'short', 'fit'): raise ValueError(f"{c.name}: unit kind {key} is taken")
        out[key] = c.fit
    return out

def task_units(bt:BenchTask, contestants=CONTESTANTS) -> list:
    "Every unit of `bt`: per seed the range tests, the fits of the contestants that train themselves, and the grid"
    return [Unit(bt.name, s, k, a) for s in bt.seeds for k, a in
            [('curve', None), *(('short', n) for n in SHORT_TESTS), *fits(contestants), *(('fit', lr) for lr in bt.grid)]]

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

def unit_environment() -> dict:
    "What a unit was measured on: machine, versions, date"
    from .store import environment
    return {k: v for k, v in environment().items() if k in ('cpu', 'cores', 'torch', 'fastai', 'fastlrx', 'date')}

def run_unit(unit:Unit, work, tasks=TASKS, contestants=CONTESTANTS) -> str:
    "Run `unit` (a task of `tasks`; a fit of a contestant of `contestants`) and save what it measured in `work`, with the machine and versions it ran on; returns its key"
    import torch
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    name, seed, kind, arg = unit
    task, own = tasks[name], fits(contestants)
    if kind == 'curve': res = _curve(task, seed)
    elif kind == 'short': res = task.lr_curve(seed, num_it=arg, start_lr=RANGE_TEST['start_lr'], end_lr=RANGE_TEST['end_lr'])
    elif kind == 'fit': res = task.fit_at(arg, seed)
    elif (kind, arg) in own: res = own[(kind, arg)].run(task, seed)
    else: raise ValueError(f"Unknown unit {kind!r} {arg!r}: not a range test, a grid fit, or a fit of {list(own)}")
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

def collect_task(bt:BenchTask, work, contestants=CONTESTANTS) -> dict|None:
    "`bt`'s results from `work`, one entry per seed, each contestant's own fit at its `Fit.at`; `None` unless every unit of the task is there"
    units = task_units(bt, contestants)
    if not all(u.path(work).exists() for u in units): return None
    t = bt.task
    runs = []
    for s in bt.seeds:
        get = lambda kind, arg=None: read_json(Unit(bt.name, s, kind, arg).path(work))
        run = dict(get('curve'), seed=s, short={n: get('short', n) for n in SHORT_TESTS}, grid=[get('fit', lr) for lr in bt.grid])
        for f in fits(contestants).values():
            *path, last = f.at
            node = run
            for k in path: node = node.setdefault(k, {})
            node[last] = get(f.kind, f.arg)
        runs.append(run)
    return dict(task=bt.name, family=t.family, schedule=t.schedule, epochs=t.epochs, default_lr=t.default_lr,
                description=t.desc, loss=t.loss_name, metric=t.metric, grid=bt.grid, seeds=list(bt.seeds),
                range_test=RANGE_TEST, runs=runs)

def pick_units(results:list, contestants=CONTESTANTS) -> list:
    "The `fit` units at contestants' picks that the grids of `results` do not hold"
    return [Unit(task, seed, 'fit', lr) for (task, seed), lrs in needed_fits(results, contestants).items() for lr in lrs]

def attach_picks(results:list, work, contestants=CONTESTANTS) -> list:
    "`results` with each run's fits at contestants' picks read from `work` (those that are there) as `picked`"
    have = {}
    for u in pick_units(results, contestants):
        if u.path(work).exists(): have.setdefault((u[0], u[1]), []).append(read_json(u.path(work)))
    for res in results:
        for r in res['runs']: r['picked'] = have.get((res['task'], r['seed']), [])
    return results

def unpack_results(report:dict, work, contestants=CONTESTANTS) -> int:
    "Write the units behind a shipped report (`report['raw']`, its cost table) into `work`, so a run resumes from them; returns how many"
    n, own = 0, fits(contestants).values()
    def put(unit, obj):
        nonlocal n
        if not unit.path(work).exists(): save_json(obj, unit.path(work)); n += 1
    for res in report.get('raw', []):
        for r in res['runs']:
            name, s = res['task'], r['seed']
            curve = {k: v for k, v in r.items() if k not in ('seed', 'grid', 'short', 'picked', *(f.at[0] for f in own))}
            put(Unit(name, s, 'curve'), dict(curve, seed=s))
            for k, c in r.get('short', {}).items(): put(Unit(name, s, 'short', int(k)), c)
            for f in own: put(Unit(name, s, f.kind, f.arg), record(r, f.at))
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
