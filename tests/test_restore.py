"The full-state fingerprint: however a range test ends, the Learner comes back bit for bit, and trains as if it never ran."
import stat, tempfile
from functools import partial
from pathlib import Path
import numpy as np, pytest, torch
from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback
from fastai.callback.training import GradientAccumulation, ShortEpochCallback
from fastai.callback.schedule import valley
from fastai.optimizer import OptimWrapper
from fastlrx.all import *
from fastlrx.testing import digits_learner, two_groups, fingerprint, fingerprint_diff, NaNAfter, FailAfter

torch.set_num_threads(1)  # a tiny CNN; more threads only contend on a shared machine

def trained(seed=0, **kwargs):
    "A digits Learner with a used optimizer, odd gradients and a Recorder history"
    learn = digits_learner(seed, **kwargs)
    learn.remove_cb(ProgressCallback)
    learn.fit(1, 1e-3, cbs=ShortEpochCallback(0.2))
    for i, p in enumerate(learn.model.parameters()):
        if i % 3 == 0: p.grad = torch.randn_like(p)
        elif i % 3 == 1: p.grad = None
    return learn

class InterruptAfter(Callback):
    "Raises `KeyboardInterrupt` after `k` batches"
    def __init__(self, k): self.k, self.n = k, 0
    def after_batch(self):
        self.n += 1
        if self.n > self.k: raise KeyboardInterrupt('interrupted from a callback')

class UnfreezeOnFit(Callback):
    "A user callback that unfreezes the model when a fit starts"
    def before_fit(self): self.learn.unfreeze()

def frozen(): learn = trained(splitter=two_groups); learn.freeze(); learn.add_cb(UnfreezeOnFit()); return learn
def nan_loss(): learn = trained(); learn.loss_func = NaNAfter(5); return learn
def failing(exc): learn = trained(); learn.model = FailAfter(learn.model, 7, exc); return learn
def interrupted(): learn = trained(); learn.add_cb(InterruptAfter(4)); return learn

# id: (make the Learner, keyword arguments of `lr_find_plus`, the exception it must raise)
CASES = {
    'normal':        (trained, dict(num_it=20, stop_div=False), None),
    'to_cpu':        (trained, dict(num_it=10, to_cpu=True), None),
    'diverged':      (trained, dict(start_lr=1e-2, end_lr=1e5, num_it=40), None),
    'nan':           (nan_loss, dict(num_it=30), None),
    'runtime_error': (partial(failing, RuntimeError), dict(num_it=30), RuntimeError),
    'keyboard_interrupt_in_forward': (partial(failing, KeyboardInterrupt), dict(num_it=30), KeyboardInterrupt),
    'keyboard_interrupt_in_callback': (interrupted, dict(num_it=30), KeyboardInterrupt),
    'frozen_then_unfrozen_by_a_callback': (frozen, dict(num_it=10), None),
    'torch_optimizer': (lambda: trained(opt_func=partial(OptimWrapper, opt=torch.optim.AdamW)), dict(num_it=10, n_runs=2), None),
    'n_runs':        (lambda: trained(splitter=two_groups), dict(start_lr=[1e-8, 1e-7], end_lr=[1., 10.], num_it=15, n_runs=3), None),
    'bootstrap':     (trained, dict(num_it=15, bootstrap=20), None),
    'val_batches':   (trained, dict(num_it=10, val_batches=2, stop_div=False), None),
    'gradient_accumulation': (lambda: trained(cbs=GradientAccumulation(128)), dict(num_it=10), None),
    'fp16':          (lambda: trained().to_fp16(), dict(num_it=15), None),
    'bf16':          (lambda: trained().to_bf16(), dict(num_it=15), None),
    'bad_input':     (lambda: trained(splitter=two_groups), dict(start_lr=[1e-7, 1e-7, 1e-7], end_lr=1.), ValueError),
}

def run_case(case):
    make, kwargs, exc = CASES[case]
    learn = make()
    before = fingerprint(learn)
    if exc is None: learn.lr_find_plus(suggest_funcs=valley, show_plot=False, **kwargs)
    else:
        with pytest.raises(exc): learn.lr_find_plus(suggest_funcs=valley, show_plot=False, **kwargs)
    return learn, before

@pytest.mark.parametrize('case', CASES)
def test_restore_is_exact(case):
    learn, before = run_case(case)
    assert fingerprint_diff(before, fingerprint(learn)) == []

@pytest.mark.parametrize('case', ['normal', 'diverged', 'n_runs', 'fp16'])
def test_then_fit_is_the_same_fit(case):
    "After the test, training is bit for bit what it would have been without it (weights, data order, RNG)"
    a, _ = run_case(case)
    b = CASES[case][0]()
    for learn in (a, b): learn.fit(1, 1e-3, cbs=ShortEpochCallback(0.3))
    assert fingerprint_diff(fingerprint(a), fingerprint(b)) in ([], ['param_ids', 'opt_id', 'opt_param_ids', 'cbs'])

def test_the_fingerprint_can_fail():
    "The same range test without the restore leaves a different fingerprint"
    learn = trained()
    before = fingerprint(learn)
    learn.fit(2, cbs=LRFinderPlus(num_it=20))
    assert 'model' in fingerprint_diff(before, fingerprint(learn))

def listing(p): return sorted(str(f.relative_to(p)) for f in Path(p).rglob('*'))

def test_no_files_written(tmp_path, monkeypatch):
    learn = trained()
    tmp = tmp_path/'tmp'; tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    old = listing(learn.path)
    learn.lr_find_plus(num_it=15, n_runs=2, suggest_funcs=valley, show_plot=False)
    assert listing(learn.path) == old and listing(tmp) == []
    learn.lr_find(num_it=15, show_plot=False)  # fastai's own leaves `models/` behind: the check can fail
    assert listing(learn.path) != old

def test_read_only_model_dir():
    learn = trained()
    models = Path(learn.path)/'models'; models.mkdir()
    models.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        before = fingerprint(learn)
        learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False)
        assert fingerprint_diff(before, fingerprint(learn)) == [] and listing(models) == []
    finally: models.chmod(stat.S_IRWXU)
    # root ignores permissions, so also a model_dir that cannot exist for anyone: a path inside a file
    (Path(learn.path)/'file').write_text('x')
    learn.model_dir = 'file/models'
    with pytest.raises(Exception): learn.lr_find(num_it=10, show_plot=False)
    learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False)
