"""Launched by `tests/test_distributed.py` with `torchrun --nproc_per_node 2 tests/ddp_script.py SCENARIO OUT`: 2 CPU
processes (gloo) under fastai's `distrib_ctx`, a small MLP on sklearn's digits. Each rank writes what it saw to
`OUT/SCENARIO-rank<r>.json`.

Scenarios: `basic` (fastlrx's range test, recorded as `stock` records fastai's `lr_find`), `plus` (fastlrx's range test, several runs, divergence, validation loss, a NaN on rank 1, `AutoLR`,
`LRFinderMilestones`), `stock` (fastai's `lr_find`), `error_exit` (rank 1 raises, then exits) and `error_stay` (rank 1
raises and lives on, so the others wait for the process group's timeout). With `FASTLRX_DDP_DEVICE=cuda` the ranks run
on the GPU with `to_fp16()` (gloo, so that two ranks can share one GPU in a test)."""
import json, os, sys, time, traceback
from datetime import timedelta
from pathlib import Path
import numpy as np, torch, torch.distributed as dist
from torch import nn

scenario, out = sys.argv[1], Path(sys.argv[2])
timeout = float(os.environ.get('FASTLRX_DDP_TIMEOUT', '20'))
device = os.environ.get('FASTLRX_DDP_DEVICE', 'cpu')
torch.set_num_threads(1)
dist.init_process_group('gloo', timeout=timedelta(seconds=timeout))
if device == 'cuda' and torch.cuda.device_count() < int(os.environ.get('LOCAL_WORLD_SIZE', 1)):
    os.environ['LOCAL_RANK'] = '0'  # more ranks than GPUs (a test on one GPU): gloo lets them share GPU 0, nccl would not  # before Accelerate, which then uses this group
rank, world = dist.get_rank(), dist.get_world_size()

from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import set_seed
from fastai.callback.schedule import valley, steep
from fastai.distributed import *  # Learner.distrib_ctx
from fastlrx.all import *
from fastlrx.data import digits_dls
from fastlrx.distributed import patch_cpu_ddp
from fastlrx.testing import fingerprint, fingerprint_diff, NaNAfter, FailAfter

patch_cpu_ddp()  # fastai's DistributedDL broadcasts with a CUDA tensor; gloo on CPU needs a CPU one

def mlp(): return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))

def learner(**kwargs):
    "The same seeded Learner on every rank, trained one epoch; rank 1's weights then moved a little"
    set_seed(0, reproducible=True)
    learn = Learner(digits_dls(seed=0), mlp(), loss_func=CrossEntropyLossFlat(), path=out/'learn', **kwargs)
    if device == 'cpu': return learn
    return learn.to_fp16()

def ctx(learn):
    "fastai's DDP context on this script's device"
    return learn.distrib_ctx(sync_bn=False, cpu=device == 'cpu')

def warm(learn):
    "One epoch, so the optimizer has state; then make rank 1's weights its own (DDP copies rank 0's in at each fit)"
    learn.fit(1, 1e-3)
    if rank:
        with torch.no_grad(): learn.model[1].weight.add_(1e-3)

def hexes(a): return [float(v).hex() for v in np.asarray(a, dtype=np.float64).reshape(-1)]

def run_info(r): return dict(points=len(r.lrs), stop=r.stop, lrs=hexes(r.lrs), raw=hexes(r.raw_losses), losses=hexes(r.losses))

def result_info(res):
    d = dict(picks={nm: float(v).hex() for nm, v in zip(res._fields, res)}, runs=[run_info(r) for r in res.runs],
             curve=hexes(res.losses))
    if res.boot_picks is not None: d['boot_picks'] = {nm: hexes(v) for nm, v in res.boot_picks.items()}
    return d

def search_info(res):
    "What a search did, exactly: its pick, fallback and every branch"
    return dict(lr=float(res.lr).hex(), fallback=res.fallback, steps=res.steps,
                probes=[[float(p['lr']).hex(), p['steps'], p['stop'], float(p['valid_loss']).hex()] for p in res.probes])

def params_hex(learn): return hexes(torch.cat([p.detach().float().flatten() for p in learn.model.parameters()]).cpu())[:50]

def plus():
    "fastlrx's range test, the search, AutoLR (with and without the search) and LRFinderMilestones"
    rec = {}
    learn = learner()
    with ctx(learn):
        warm(learn)
        for name, kw in [('basic', dict(num_it=50, suggest_funcs=(valley, steep, recommended))),
                         ('runs', dict(num_it=40, n_runs=2, bootstrap=20, suggest_funcs=(valley, recommended))),
                         ('diverge', dict(start_lr=1e-2, end_lr=1e4, num_it=50, suggest_funcs=valley)),
                         ('val', dict(num_it=30, val_batches=2, suggest_funcs=valley))]:
            before = fingerprint(learn)
            res = learn.lr_find_plus(show_plot=False, **kw)
            rec[name] = dict(result_info(res), restore_diff=fingerprint_diff(before, fingerprint(learn)))
        learn.loss_func = NaNAfter(15) if rank == 1 else CrossEntropyLossFlat()
        before = fingerprint(learn)
        res = learn.lr_find_plus(num_it=50, suggest_funcs=valley, show_plot=False)
        rec['nan'] = dict(result_info(res), restore_diff=fingerprint_diff(before, fingerprint(learn)))
        learn.loss_func = CrossEntropyLossFlat()
        before = fingerprint(learn)
        res = learn.lr_search(20, budget=1.0, num_it=40, show_plot=False)
        rec['lr_search'] = dict(search_info(res), restore_diff=fingerprint_diff(before, fingerprint(learn)))
    learn = learner(cbs=AutoLR(valley, num_it=40))
    with ctx(learn): learn.fit_one_cycle(1)
    ch = learn.auto_lr.history[0]
    rec['autolr'] = dict(lr=float(ch.lr).hex(), peak=float(max(learn.recorder.hps['lr'])).hex(),
                         points=len(ch.result.runs[0].lrs), stop=ch.result.runs[0].stop, weights=params_hex(learn))
    learn = learner(cbs=AutoLR(valley, budget=1.0, num_it=40))
    with ctx(learn): learn.fit_one_cycle(20)
    rec['autolr_search'] = dict(search_info(learn.auto_lr.history[0].result), weights=params_hex(learn))
    learn = learner()
    ms = LRFinderMilestones(1, valley, num_it=30)
    with ctx(learn): learn.fit_one_cycle(2, 1e-3, cbs=ms)
    rec['milestones'] = dict(epochs=[c.epoch for c in ms.history], lr=[float(c.lr).hex() for c in ms.history],
                             points=[len(c.result.runs[0].lrs) for c in ms.history], weights=params_hex(learn))
    dist.barrier()
    return rec

def stock():
    "fastai's own lr_find under the same launch"
    learn = learner()
    with ctx(learn):
        warm(learn)
        before = fingerprint(learn)
        rec = dict(error=None)
        try:
            res = learn.lr_find(num_it=50, show_plot=False)
            rec['picks'] = {'valley': float(res.valley).hex()}
        except Exception as e: rec['error'] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        n = len(learn.recorder.lrs)
        rec.update(points=n, stop_step=int(getattr(learn, 'train_iter', -1)), stop='num_it' if n >= 50 else 'diverged',
                   restore_diff=fingerprint_diff(before, fingerprint(learn)))
    return rec

def basic():
    "fastlrx's range test, recorded as `stock` records fastai's"
    learn = learner()
    with ctx(learn):
        warm(learn)
        before = fingerprint(learn)
        res = learn.lr_find_plus(num_it=50, suggest_funcs=(valley, recommended), show_plot=False)
        return dict(error=None, picks={nm: float(v).hex() for nm, v in zip(res._fields, res)}, points=len(res.runs[0].lrs),
                    stop_step=len(res.runs[0].lrs), stop=res.runs[0].stop, restore_diff=fingerprint_diff(before, fingerprint(learn)))

def error(stay:bool):
    "Rank 1's model raises at its 11th forward pass"
    learn = learner()
    with ctx(learn):
        warm(learn)
        learn.model = FailAfter(learn.model, 10 if rank == 1 else 10**9)
        before, t0, rec = fingerprint(learn), time.time(), {}
        try: learn.lr_find_plus(num_it=50, show_plot=False)
        except Exception as e: rec['error'] = f"{type(e).__name__}: {e}"
        rec.update(seconds=time.time() - t0, restore_diff=fingerprint_diff(before, fingerprint(learn)))
    return rec

if __name__ == '__main__':
    fn = dict(plus=plus, basic=basic, stock=stock, error_exit=lambda: error(False), error_stay=lambda: error(True))[scenario]
    try: rec = fn()
    except Exception as e: rec = dict(crash=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    (out/f'{scenario}-rank{rank}.json').write_text(json.dumps(dict(rank=rank, world=world, **rec), indent=1))
    # rank 1 outlives the others' timeout: they must not wait for it
    if scenario == 'error_stay' and rank == 1: time.sleep(timeout + 5)
    if scenario in ('plus', 'basic'):  # ranks in step: leave together, as gloo's threads alive at exit can abort the interpreter
        dist.barrier()
        dist.destroy_process_group()
