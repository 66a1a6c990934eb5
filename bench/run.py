"Running the benchmark: per task and seed the range tests, the grid and a training run at every pick, kept in `work` so a stopped run resumes."
from __future__ import annotations
import math, time
from pathlib import Path
from .plan import BenchTask, bench_plan
from .contestants import CONTESTANTS, PEERS, RANGE_TEST, range_test_picks
from .score import summarize_task, overall, beats_peers, oracle_lrs
from .cost import measure_cost
from .store import save_json, read_json, environment

__all__ = ['run_bench_task', 'select_tasks', 'make_report', 'run_bench']

def _fit_row(task, lr, seed):
    "What the benchmark keeps of `task.fit_at(lr, seed)`"
    r = task.fit_at(float(lr), seed)
    return dict(lr=float(lr), valid_loss=r['valid_loss'], metric=r['metric'], diverged=r['diverged'])

def _run_seed(bt:BenchTask, seed:int) -> dict:
    "Range tests, grid, and a training run at every distinct pick of one seed"
    rt = range_test_picks(bt.task, seed, **RANGE_TEST)
    grid = [_fit_row(bt.task, lr, seed) for lr in bt.grid]
    fits = {r['lr']: r for r in grid}
    for lr in rt['picks'].values():
        if math.isfinite(lr) and lr not in fits: fits[lr] = _fit_row(bt.task, lr, seed)
    return dict(seed=seed, **rt, grid=grid, fits=sorted(fits.values(), key=lambda r: r['lr']))

def run_bench_task(bt:BenchTask, log=print) -> dict:
    "Range tests, grid and contestant training runs for every seed of `bt`"
    t0, runs = time.time(), []
    for seed in bt.seeds:
        runs.append(_run_seed(bt, seed))
        if log: log(f"  {bt.name} seed {seed}: {len(runs[-1]['fits'])} trainings, {time.time() - t0:.0f}s so far")
    return dict(task=bt.name, description=bt.task.desc, loss=bt.task.loss_name, metric=bt.task.metric,
                grid=bt.grid, seeds=list(bt.seeds), range_test=RANGE_TEST, runs=runs, secs=time.time() - t0)

def select_tasks(plan:list, tasks=None) -> list:
    "The `BenchTask`s of `plan` named in `tasks` (all when `None`); an unknown name is an error"
    if not tasks: return plan
    unknown = set(tasks) - {b.name for b in plan}
    if unknown: raise ValueError(f"Unknown tasks {sorted(unknown)}; the plan has {[b.name for b in plan]}")
    return [b for b in plan if b.name in tasks]

def _task_result(bt:BenchTask, work:Path, quality:bool, log) -> dict|None:
    "`bt`'s results from `work` when they match its grid and seeds, else run (and keep) them unless `quality` is off"
    fn = work/f'{bt.name}.json'
    res = read_json(fn) if fn.exists() else None
    if res is not None and res['grid'] == bt.grid and res['seeds'] == list(bt.seeds): return res
    if not quality: return None
    if log: log(f"{bt.name}: {bt.task.desc}")
    res = run_bench_task(bt, log)
    save_json(res, fn)
    return res

def make_report(mode:str, results:list, cost:list) -> dict:
    "The results file: environment, contestants, per-task info, summaries, overall, target, cost and the raw rows"
    ov = overall(results) if results else {}
    return dict(mode=mode, environment=environment(), contestants=CONTESTANTS, peers=PEERS,
                tasks={res['task']: {k: v for k, v in res.items() if k != 'runs'} | dict(oracle_lrs=oracle_lrs(res)) for res in results},
                summary={res['task']: summarize_task(res) for res in results}, overall=ov,
                beats_peers=beats_peers(ov) if ov else {}, cost=cost, raw=results)

def run_bench(quick:bool=False, tasks=None, work=None, out=None, cost:bool=True, quality:bool=True, log=print) -> dict:
    "Run (or resume from `work`) the quick or full benchmark; write and return the results"
    mode = 'quick' if quick else 'full'
    work = Path(work or f'fastlrx_bench/{mode}')
    results = [r for bt in select_tasks(bench_plan(quick), tasks) if (r := _task_result(bt, work, quality, log)) is not None]
    cost_fn = work/'cost.json'
    if cost and not cost_fn.exists():
        save_json(measure_cost(widths=(16,) if quick else (16, 128), repeats=1 if quick else 3, log=log), cost_fn)
    report = make_report(mode, results, read_json(cost_fn) if cost_fn.exists() else [])
    if out: save_json(report, out)
    return report
