"The full-state fingerprint: however a range test ends, the Learner comes back bit for bit, and trains as if it never ran."
import os, stat, tempfile
from functools import partial
from pathlib import Path
import numpy as np, pytest, torch
from collections import deque
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader as TorchDL, TensorDataset
from fastai.callback.core import Callback
from fastai.callback.hook import ActivationStats
from fastai.data.core import DataLoaders
from fastai.callback.progress import ProgressCallback
from fastai.callback.training import GradientAccumulation, ShortEpochCallback
from fastai.callback.schedule import valley
from fastai.optimizer import OptimWrapper
from fastlrx.all import *
from fastlrx.testing import digits_learner, two_groups, fingerprint, fingerprint_diff, NaNAfter, FailAfter

torch.set_num_threads(1)  # a tiny CNN; more threads only contend on a shared machine
DEVICE = os.environ.get('FASTLRX_TEST_DEVICE', 'cpu')  # `cuda` runs every case on the GPU

def trained(seed=0, **kwargs):
    "A digits Learner with a used optimizer, odd gradients and a Recorder history"
    learn = digits_learner(seed, **kwargs)
    learn.model.to(DEVICE); learn.dls.to(DEVICE)
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

class BF16Autocast(Callback):
    "Enters CPU autocast in `before_batch` and leaves it in `after_loss`, as fastai's `MixedPrecision` does on a GPU"
    def before_batch(self): self.ctx = torch.autocast('cpu', dtype=torch.bfloat16); self.ctx.__enter__()
    def after_loss(self): self.ctx.__exit__(None, None, None)

class InPlaceState(Callback):
    "Changes its state in place after each batch: a tensor, an array, a deque, a list in a dict, a torch LR scheduler"
    def __init__(self, model):
        self.count, self.arr, self.hist, self.seen = torch.zeros(1), np.zeros(2), deque([0.]), {'losses': []}
        self.sched = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(model.parameters(), lr=0.1), step_size=1)
    def after_batch(self):
        self.count += 1; self.arr += 1; self.hist.append(1.); self.seen['losses'].append(1.); self.sched.step()

class TempLoss(nn.Module):
    "Cross-entropy with a learnable temperature"
    def __init__(self): super().__init__(); self.t = nn.Parameter(torch.ones(1))
    def forward(self, x, y): return F.cross_entropy(x * self.t, y)

def loss_parameter():
    "A loss with a parameter outside the model, which the splitter hands to the optimizer"
    loss = TempLoss()
    learn = trained(loss_func=loss, splitter=lambda m: [list(m.parameters()), [loss.t]])
    assert any(p is loss.t for pl in learn.opt.param_lists for p in pl)
    return learn

def torch_loaders():
    "`DataLoaders` of plain PyTorch `DataLoader`s, shuffled by a seeded `torch.Generator`"
    learn = trained()
    xs, ys = zip(*[(x, y) for x, y in learn.dls.train_ds])
    ds = TensorDataset(torch.stack(xs), torch.stack(ys))
    learn.dls = DataLoaders(TorchDL(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0)), TorchDL(ds, batch_size=64))
    return learn

def negative_zero_grads():
    learn = trained()
    for p in learn.model.parameters(): p.grad = -torch.zeros_like(p)
    return learn

def autocast_error(exc):
    learn = trained(cbs=BF16Autocast()); learn.model = FailAfter(learn.model, 7, exc); return learn

def mixed_precision_error(precision, exc):
    "fastai's `MixedPrecision` (autocast on the GPU) and a forward that raises"
    learn = getattr(trained(), precision)(); learn.model = FailAfter(learn.model, 7, exc); return learn

def hooks_error():
    learn = trained(cbs=ActivationStats(every=1)); learn.model = FailAfter(learn.model, 7, RuntimeError); return learn

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
    # issue 10: each of these failed before
    'autocast_runtime_error': (partial(autocast_error, RuntimeError), dict(num_it=30), RuntimeError),
    'autocast_keyboard_interrupt': (partial(autocast_error, KeyboardInterrupt), dict(num_it=30), KeyboardInterrupt),
    'loss_parameter_in_optimizer': (loss_parameter, dict(num_it=20), None),
    'callback_state_in_place': (lambda: (lambda l: (l.add_cb(InPlaceState(l.model)), l)[1])(trained()), dict(num_it=20), None),
    'torch_dataloader_generator': (torch_loaders, dict(num_it=20), None),
    'hooks_after_error': (hooks_error, dict(num_it=30), RuntimeError),
    'fp16_runtime_error': (partial(mixed_precision_error, 'to_fp16', RuntimeError), dict(num_it=30), RuntimeError),
    'fp16_keyboard_interrupt': (partial(mixed_precision_error, 'to_fp16', KeyboardInterrupt), dict(num_it=30), KeyboardInterrupt),
    'bf16_runtime_error': (partial(mixed_precision_error, 'to_bf16', RuntimeError), dict(num_it=30), RuntimeError),
    'bf16_keyboard_interrupt': (partial(mixed_precision_error, 'to_bf16', KeyboardInterrupt), dict(num_it=30), KeyboardInterrupt),
    'negative_zero_grads': (negative_zero_grads, dict(num_it=10), None),
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

@pytest.mark.parametrize('case', ['normal', 'diverged', 'nan', 'runtime_error', 'n_runs', 'fp16', 'autocast_runtime_error',
                                  'loss_parameter_in_optimizer', 'callback_state_in_place', 'torch_dataloader_generator',
                                  'fp16_runtime_error', 'bf16_keyboard_interrupt'])
def test_then_fit_is_the_same_fit(case):
    "After the test, training is bit for bit what it would have been without it (weights, data order, RNG)"
    a, _ = run_case(case)
    b = CASES[case][0]()
    for learn in (a, b):
        if isinstance(learn.model, FailAfter): learn.model = learn.model.m  # fail in the range test only
        learn.fit(1, 1e-3, cbs=ShortEpochCallback(0.3))
    same = ('model', 'params', 'grads', 'requires_grad', 'opt_state', 'opt_hypers', 'rng', 'dl_rng', 'torch_modes')
    assert fingerprint_diff(*({k: fingerprint(l)[k] for k in same} for l in (a, b))) == []
    assert np.array_equal(*(np.array([float(v) for v in l.recorder.losses]) for l in (a, b)), equal_nan=True)

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
