"What the finder costs: wall time, bytes written and peak RAM of one call, each measured in a fresh Python process."
from __future__ import annotations
import json, math, os, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from torch import nn
from fastai.callback.core import Callback, CancelFitException, CancelValidException
from fastai.callback.schedule import valley
from fastai.torch_core import set_seed
import fastlrx.finder  # adds `Learner.lr_find_plus`
from .peers import torch_lr_finder_run

__all__ = ['COST_METHODS', 'cost_child', 'measure_cost']

COST_METHODS = ('plain', 'lr_find', 'lr_find_plus', 'torch_lr_finder', 'lr_find_plus n_runs=3', 'lr_find_plus bootstrap=100')

class _StopAfter(Callback):
    "Cancel the fit after `n` training batches, skipping validation like a range test does"
    def __init__(self, n): self.n = n
    def before_fit(self): self.count = 0
    def before_validate(self): raise CancelValidException()
    def after_batch(self):
        if self.training:
            self.count += 1
            if self.count >= self.n: raise CancelFitException()

def _cost_learner(width:int, root:Path):
    "The digits CNN of `width` (a linear model when 0), trained 5 batches so the optimizer has state"
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from fastai.callback.progress import ProgressCallback
    from fastlrx.data import digits_dls, digits_cnn
    set_seed(0, reproducible=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)) if width == 0 else digits_cnn(width)
    learn = Learner(digits_dls(bs=64), model, loss_func=CrossEntropyLossFlat(), path=root/'learn')
    learn.remove_cb(ProgressCallback)
    with learn.no_logging(): learn.fit(1, 1e-3, cbs=_StopAfter(5))
    return learn

def _call(learn, method:str, num_it:int):
    "One call of cost method `method` with `num_it` steps"
    if method == 'plain':
        with learn.no_logging(): learn.fit(num_it // len(learn.dls.train) + 1, 1e-3, cbs=_StopAfter(num_it))
    elif method == 'lr_find': learn.lr_find(num_it=num_it, stop_div=False, show_plot=False, suggest_funcs=valley)
    elif method == 'torch_lr_finder': torch_lr_finder_run(learn, num_it=num_it, diverge_th=math.inf)
    elif method.startswith('lr_find_plus'):
        kw = {k: int(v) for k, v in (o.split('=') for o in method.split()[1:])}
        learn.lr_find_plus(num_it=num_it, stop_div=False, show_plot=False, **kw)
    else: raise ValueError(f"Unknown cost method {method!r}; choose from {COST_METHODS}")

def _warm_up():
    "Import what any method uses, and build a first torch optimizer (it imports `torch._dynamo`), before the clock starts"
    import matplotlib.pyplot, scipy.signal, torch_lr_finder
    torch.optim.AdamW([nn.Parameter(torch.zeros(1))])

def _timed(learn, method:str, num_it:int, saved:list) -> tuple:
    "Seconds and peak RSS (kB) of one `_call`, with the size of every file `torch.save` writes appended to `saved`"
    _save = torch.save
    def save(obj, f, *args, **kwargs):
        _save(obj, f, *args, **kwargs)
        if isinstance(f, (str, os.PathLike)): saved.append(os.path.getsize(f))
    torch.save = save
    try:
        t0 = time.perf_counter()
        _call(learn, method, num_it)
        return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally: torch.save = _save

def cost_child(method:str, width:int, num_it:int) -> dict:
    "Measure one call of `method` on a fresh learner in this process: wall time, bytes written, peak RAM added"
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix='fastlrx_cost_'))
    (root/'tmp').mkdir()
    old_tmp, tempfile.tempdir, saved = tempfile.tempdir, str(root/'tmp'), []
    _warm_up()
    try:
        learn = _cost_learner(width, root)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        secs, rss1 = _timed(learn, method, num_it, saved)
        left = [f for f in root.rglob('*') if f.is_file()]
    finally: tempfile.tempdir = old_tmp
    shutil.rmtree(root, ignore_errors=True)
    return dict(method=method, width=width, params=sum(p.numel() for p in learn.model.parameters()), num_it=num_it,
                secs=secs, bytes_written=sum(saved) + sum(f.stat().st_size for f in left if f.exists()),
                files_left=len(left), peak_rss_added_mb=(rss1 - rss0) / 1024, peak_rss_mb=rss1 / 1024)

def _child_run(method, width, num_it):
    "`cost_child` in a fresh Python process that imports `bench` from this checkout"
    code = f"import json; from bench.cost import cost_child; print(json.dumps(cost_child({method!r}, {width}, {num_it})))"
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent.parent), os.environ.get('PYTHONPATH')]))
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg', 'PYTHONPATH': path}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    if out.returncode: raise RuntimeError(f"cost child {method} width={width} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

def _relative(rows:list, n:int):
    "Add each row's time relative to `plain` and to one `lr_find_plus`, and its per-batch overhead over `plain`"
    by = {r['method']: r for r in rows}
    for r in rows:
        r['vs_plain'] = r['secs'] / by['plain']['secs']
        r['vs_one_run'] = r['secs'] / by['lr_find_plus']['secs']
        r['overhead_us_per_batch'] = 1e6 * (r['secs'] - by['plain']['secs']) / n

def _median_run(method:str, width:int, n:int, repeats:int) -> dict:
    "The first of `repeats` fresh-process runs, with the medians of its measurements"
    runs = [_child_run(method, width, n) for _ in range(repeats)]
    return {**runs[0], **{k: statistics.median(r[k] for r in runs) for k in ('secs', 'bytes_written', 'peak_rss_added_mb', 'peak_rss_mb')}}

def measure_cost(widths=(16, 128), tiny_num_it:int=300, num_it:int=100, repeats:int=3, log=print) -> list:
    "Median cost of every method in `COST_METHODS` per model, over `repeats` fresh processes each"
    rows = []
    for width in (*widths, 0):
        n = tiny_num_it if width == 0 else num_it
        model_rows = []
        for method in COST_METHODS:
            model_rows.append(_median_run(method, width, n, repeats))
            if log: log(f"  cost {method} width={width}: {model_rows[-1]['secs']:.2f}s")
        _relative(model_rows, n)
        rows += model_rows
    return rows
