"""How well a short branch of the fit predicts the full fit: every grid LR of every task and seed probed with the fit's
own schedule compressed into a fraction of its steps (`fastlrx.search.FitBranch`, the search's own branch), scored on
validation loss, and compared with the full fits.

    python -m bench.probes [--fracs 0.083,0.167,0.333] [--procs 2] [--out bench/results/probes.json]

For each task, seed and probe length it reports the rank correlation (Spearman) between the probes' validation losses
and the full fits' across the grid, and the regret of the grid LR whose probe ended lowest: what a search over the
grid's candidates at that length would pick, before any refinement. The design input of the LR search (issue 18).
Tasks with `fine_tune` (pets) are left out: a probe there needs the frozen phase too."""
from __future__ import annotations
import math, time, warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
import numpy as np
from fastcore.script import call_parse
from fastai.callback.schedule import combined_cos, combine_scheds, SchedNo, SchedCos
from .store import load_results, save_json, RESULTS
from .score import oracle, filled, relative_regret
from fastlrx.suggest import fit_steps
from fastlrx.search import FitBranch

__all__ = ['PROBE_FRACS', 'fit_scheds', 'probe', 'spearman', 'summarize', 'main']

PROBE_FRACS = (1/12, 1/6, 1/3)

def fit_scheds(schedule:str, lr:float) -> dict:
    "The `ParamScheduler` schedules fastai's `schedule` uses at peak LR `lr` (its defaults); `{}` for a constant `fit`"
    if schedule == 'one_cycle': return {'lr': combined_cos(0.25, lr / 25., lr, lr / 1e5), 'mom': combined_cos(0.25, 0.95, 0.85, 0.95)}
    if schedule == 'flat_cos': return {'lr': combine_scheds([0.75, 0.25], [SchedNo(lr, lr), SchedCos(lr, 0.)])}
    if schedule == 'fit': return {}
    raise ValueError(f"No compressed form of {schedule!r}: probes cover one_cycle, flat_cos and fit")

def probe(task, seed:int, lr:float, frac:float) -> dict:
    """Train a fresh learner of `task` at `lr` for `frac` of the fit's steps, the schedule compressed (the search's
    `FitBranch`, which never stops on divergence here: every probe runs its steps, as the grid's fits do); its validation loss"""
    learn = task.make_learner(seed)
    n = len(learn.dls.train)
    steps = max(1, round(frac * fit_steps(task.epochs, n, task.schedule)))
    branch = FitBranch(fit_scheds(task.schedule, lr), 1., steps, div=math.inf)
    with learn.no_bar(), learn.no_logging():
        t0 = time.perf_counter()
        learn.fit(math.ceil(steps / n), lr, cbs=branch)
        secs = time.perf_counter() - t0
        loss = float(learn.validate()[0]) if branch.stop == 'done' else math.inf  # 'nan': the training loss, and the weights, went NaN
    return dict(lr=lr, seed=seed, frac=frac, steps=steps, valid_loss=loss if math.isfinite(loss) else math.inf, secs=secs)

def _probe_unit(args):
    "One probe in a worker process, one torch thread"
    import torch
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    from .tasks import TASKS
    name, seed, lr, frac = args
    return name, probe(TASKS[name], seed, lr, frac)

def spearman(a, b) -> float:
    "Spearman's rank correlation of `a` and `b` (infinite values rank last, ties averaged)"
    def ranks(x):
        x = np.where(np.isfinite(x), x, np.nanmax(np.where(np.isfinite(x), x, -np.inf)) + 1e9)
        order = np.argsort(x, kind='stable'); r = np.empty(len(x)); r[order] = np.arange(len(x))
        for v in np.unique(x): r[x == v] = r[x == v].mean()
        return r
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    return float(np.corrcoef(ra, rb)[0, 1]) if ra.std() and rb.std() else math.nan

def summarize(results:list, probes:dict) -> list:
    "Per task, seed and probe length: rank correlation with the full fits, and the regret of the LR whose probe ended lowest"
    rows = []
    for res in results:
        for run in res['runs']:
            grid, o = run['grid'], oracle(run['grid'])
            xs, full = filled(grid)
            for frac in sorted({p['frac'] for p in probes.get(res['task'], [])}):
                ps = {round(math.log10(p['lr']), 6): p['valid_loss'] for p in probes[res['task']] if p['seed'] == run['seed'] and p['frac'] == frac}
                pl = np.array([ps.get(round(x, 6), math.inf) for x in xs])
                best = int(np.argmin(np.where(np.isfinite(pl), pl, np.inf)))
                rows.append(dict(task=res['task'], family=res['family'], schedule=res['schedule'], seed=run['seed'], frac=frac,
                                 spearman=spearman(pl, full), pick=float(10 ** xs[best]), oracle=o['lr'],
                                 decades=float(math.log10(10 ** xs[best] / o['lr'])),
                                 regret=relative_regret(float(full[best]), o['valid_loss'], o['floor'])))
    return rows

@call_parse
def main(fracs:str='0.0833,0.1667,0.3333',  # Probe lengths as fractions of the fit's steps
         procs:int=2,                        # Processes side by side
         tasks:str=None,                     # Comma-separated tasks (default: every task but fine_tune ones)
         out:str=None):                      # Where to write the results (default bench/results/probes.json)
    "Probe every grid LR of the shipped benchmark's tasks and report how well probes predict the full fit"
    report = load_results('full')
    fs = [float(f) for f in fracs.split(',')]
    results = [r for r in report['raw'] if r['schedule'] != 'fine_tune' and (not tasks or r['task'] in tasks.split(','))]
    todo = [(r['task'], run['seed'], g['lr'], f) for r in results for run in r['runs'] for g in run['grid'] for f in fs]
    print(f"{len(todo)} probes on {len(results)} tasks in {procs} processes")
    probes, t0 = {}, time.time()
    with ProcessPoolExecutor(procs, mp_context=get_context('fork')) as ex:
        for i, (name, p) in enumerate(ex.map(_probe_unit, todo, chunksize=8)):
            probes.setdefault(name, []).append(p)
            if i % 200 == 0: print(f"[{i}/{len(todo)} {time.time() - t0:.0f}s]", flush=True)
    rows = summarize(results, probes)
    save_json(dict(fracs=fs, rows=rows, probes=probes), out or RESULTS/'probes.json')
    for sched in dict.fromkeys(r['schedule'] for r in rows):
        for f in fs:
            rs = [r for r in rows if r['schedule'] == sched and r['frac'] == f]
            print(f"{sched:>9} probe {f:.3f} of the fit: median rank correlation {np.nanmedian([r['spearman'] for r in rs]):.2f}, "
                  f"probe-picked regret median {np.median([r['regret'] for r in rs]):.3f}, 90th pct {np.percentile([r['regret'] for r in rs], 90):.2f}, "
                  f"median |decades| {np.median([abs(r['decades']) for r in rs]):.2f} ({len(rs)} task-seeds)")
