#!/usr/bin/env python
"""Record the fixture curves in `fastlrx/curves/<task>.json` from the tasks in `fastlrx.tasks`.

For every task this runs stock fastai `lr_find` on fresh learners (several seeds) and trains the task at a log grid of
learning rates (several seeds each), then writes one JSON file holding the full curves (learning rates, fastai's
smoothed losses, raw per-batch losses), what fastai's own suggestion functions say on each curve, the grid of final
validation losses and metrics, and the range of learning rates that train well.

    FASTLRX_PETS=/path/to/oxford-pets python tools/record_curves.py                 # everything (~15 min on 2 CPUs)
    FASTLRX_PETS=... python tools/record_curves.py --tasks digits_cnn,wine_sgd
    python tools/record_curves.py --tasks digits_cnn --quick --out curves_quick      # smoke test, seconds
    python tools/record_curves.py --tasks wine_sgd --rescore                           # re-derive summaries only

Non-finite numbers are written as `null`. Floats are rounded to 6 significant digits.
"""
import argparse, json, math, platform, statistics, sys, time, warnings
from datetime import date
from pathlib import Path

import torch, fastai
import fastlrx
from fastai.torch_core import tensor
from fastai.callback.schedule import valley, minimum, steep, slide
from fastlrx.tasks import TASKS, log_grid, lr_grid, median_losses, oracle_lr, good_lr_range, is_diverged

OUT = Path(__file__).resolve().parent.parent/'fastlrx'/'curves'
TOL = 0.25
TOLS = (0.1, 0.25, 0.5, 1.0)
LR_FIND = dict(start_lr=1e-7, end_lr=10, num_it=100)

# Grid bounds cover where each task trains and a bit beyond on both sides (4 points per decade).
PLANS = dict(
    digits_cnn     = dict(grid=(1e-5, 10),    grid_seeds=5, curve_seeds=5),
    pets_lite0     = dict(grid=(1.78e-4, 0.178), grid_seeds=2, curve_seeds=3),
    tabular_cancer = dict(grid=(1e-5, 3.16),  grid_seeds=5, curve_seeds=5),
    diabetes_reg   = dict(grid=(1e-5, 3.16),  grid_seeds=5, curve_seeds=5),
    wine_sgd       = dict(grid=(1e-3, 10),    grid_seeds=5, curve_seeds=5),
)
FLOWS = dict(pets_lite0="lr_find on the fresh, frozen pretrained learner, as a user runs it before fine_tune")

def r6(x):
    "Round to 6 significant digits; non-finite to None (JSON null)"
    if x is None: return None
    if isinstance(x, bool): return x
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else None

def fastai_suggestions(lrs, losses, num_it):
    "What stock `lr_find` suggests with `valley`, `minimum`, `steep` and `slide` on this curve"
    lrs, losses = tensor(lrs[num_it//10:-5]), tensor(losses[num_it//10:-5])
    nan_idxs = torch.nonzero(torch.isnan(losses.view(-1)))
    if len(nan_idxs) > 0: lrs, losses = lrs[:min(nan_idxs)], losses[:min(nan_idxs)]
    res = {}
    for f in (valley, minimum, steep, slide):
        try: res[f.__name__] = r6(f(lrs, losses, num_it)[0])
        except Exception as e: res[f.__name__] = None; log(f"  {f.__name__} failed: {e!r}")
    return res

def log(msg): print(msg, flush=True)

def record(name, quick=False, out=OUT, grid_seeds=None, curve_seeds=None):
    task, plan = TASKS[name], PLANS[name]
    lrs = log_grid(*plan['grid'])
    gseeds = list(range(grid_seeds or plan['grid_seeds']))
    cseeds = list(range(curve_seeds or plan['curve_seeds']))
    if quick: lrs, gseeds, cseeds = [lrs[0], lrs[len(lrs)//2], lrs[-1]], gseeds[:1], cseeds[:1]
    log(f"== {name}: {task.desc}\n   grid {lrs[0]:.3g}..{lrs[-1]:.3g} ({len(lrs)} lrs) x seeds {gseeds}; curves seeds {cseeds}")

    curves, curve_secs = [], []
    for seed in cseeds:
        t0 = time.time()
        c = task.lr_curve(seed, **LR_FIND)
        curve_secs.append(time.time() - t0)
        c = dict(seed=seed, n=len(c['lrs']), lrs=[r6(o) for o in c['lrs']], losses=[r6(o) for o in c['losses']],
                 raw_losses=[r6(o) for o in c['raw_losses']])
        log(f"   lr_find seed={seed}: {c['n']} its, {curve_secs[-1]:.1f}s, "
            f"fastai suggests {fastai_suggestions(c['lrs'], c['losses'], LR_FIND['num_it'])}")
        curves.append(c)

    t0 = time.time()
    rows = lr_grid(task, lrs, gseeds, log=lambda m: log('   ' + m))
    fit_secs = (time.time() - t0) / len(rows)
    rows = [{k: r6(v) for k, v in r.items()} | dict(seed=r['seed'], diverged=r['diverged']) for r in rows]
    res = dict(
        task=name, description=task.desc, loss=task.loss_name, metric=task.metric, lower_is_better=True,
        lr_find_flow=FLOWS.get(name, "lr_find on a fresh learner"),
        versions=dict(fastai=fastai.__version__, torch=torch.__version__, fastlrx=fastlrx.__version__,
                      python=platform.python_version()),
        recorded=date.today().isoformat(), quick=quick,
        num_it=LR_FIND['num_it'], lr_find=LR_FIND,
        curves=curves,
        grid=dict(lrs=lrs, seeds=gseeds, rows=rows),
        timing_s=dict(lr_find=r6(statistics.median(curve_secs)), fit=r6(fit_secs), threads=torch.get_num_threads()),
    )
    return write(summarize(res), out)

def summarize(res):
    "Fill in what follows from the recorded curves and grid rows: suggestions, divergence flags, medians, ranges"
    for c in res['curves']: c['fastai_suggestions'] = fastai_suggestions(c['lrs'], c['losses'], res['num_it'])
    rows = res['grid']['rows']
    for r in rows: r['diverged'] = is_diverged(r['valid_loss'], r['start_loss'])
    res['grid']['median_valid_loss'] = [[lr, r6(m)] for lr, m in median_losses(rows).items()]
    res |= dict(tol=TOL, oracle_lr=oracle_lr(rows), good_range=list(good_lr_range(rows, TOL)),
                good_ranges={str(t): list(good_lr_range(rows, t)) for t in TOLS})
    return res

def write(res, out):
    out.mkdir(parents=True, exist_ok=True)
    fn = out/f"{res['task']}.json"
    fn.write_text(json.dumps(res, separators=(',', ':')) + '\n')
    log(f"   oracle {res['oracle_lr']:.3g}, good range (tol {TOL}) {res['good_range']}, fit {res['timing_s']['fit']:.1f}s, "
        f"lr_find {res['timing_s']['lr_find']:.1f}s -> {fn} ({fn.stat().st_size//1024} KB)")
    for lr, m in res['grid']['median_valid_loss']: log(f"     {lr:<10.3g} {m if m is None else f'{m:.4g}'}")
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tasks', default=','.join(TASKS), help=f"comma-separated, from {','.join(TASKS)}")
    p.add_argument('--quick', action='store_true', help="3 learning rates, 1 seed: a smoke test (use with --out)")
    p.add_argument('--out', type=Path, default=OUT, help=f"output folder (default {OUT})")
    p.add_argument('--grid-seeds', type=int, help="override the number of seeds per grid point")
    p.add_argument('--curve-seeds', type=int, help="override the number of lr_find curves")
    p.add_argument('--rescore', action='store_true',
                   help="recompute suggestions, divergence flags, medians and ranges of existing files in --out; no training")
    p.add_argument('--threads', type=int, default=2, help="torch threads (default 2)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore')
    names = [n.strip() for n in a.tasks.split(',') if n.strip()]
    if bad := [n for n in names if n not in TASKS]: p.error(f"unknown tasks {bad}; choose from {list(TASKS)}")
    t0 = time.time()
    for n in names:
        if a.rescore: write(summarize(json.loads((a.out/f'{n}.json').read_text())), a.out)
        else: record(n, a.quick, a.out, a.grid_seeds, a.curve_seeds)
    log(f"done in {(time.time()-t0)/60:.1f} min")

if __name__ == '__main__': main()
