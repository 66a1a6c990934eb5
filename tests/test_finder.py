"The range test restores the Learner bit for bit, whatever happens, writes no file, and picks the LR of a fit."
import copy, os, random, stat, tempfile
from pathlib import Path
import numpy as np, pytest, torch
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from torch.nn import functional as F
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import set_seed
from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback
from fastai.callback.training import GradientAccumulation, ShortEpochCallback
from fastai.callback.schedule import valley, steep
from fastlrx.data import digits_dls, digits_cnn
from fastlrx.finder import LRFinderPlus, StateSnapshot, AutoLR, LRFinderMilestones, FinderResult

torch.set_num_threads(1)  # a tiny CNN; more threads only contend on a shared machine

def two_groups(m): return [list(m[:3].parameters()), list(m[3:].parameters())]

def make_learner(tmp_path, train=True, seed=0, **kwargs):
    "Digits CNN with a used optimizer (Adam state), odd gradients and a Recorder history, saving under `tmp_path`"
    set_seed(seed)
    learn = Learner(digits_dls(seed=seed), digits_cnn(), loss_func=CrossEntropyLossFlat(), path=tmp_path, **kwargs)
    learn.remove_cb(ProgressCallback)
    if train:
        learn.fit(1, 1e-3, cbs=ShortEpochCallback(0.2))
        for i, p in enumerate(learn.model.parameters()):
            if i % 3 == 0: p.grad = torch.randn_like(p)
            elif i % 3 == 1: p.grad = None
    return learn

# ---- a fingerprint of everything that must survive, taken as clones -------------------------------------------------
def _copy(o):
    if isinstance(o, torch.Tensor): return o.detach().clone()
    if isinstance(o, dict): return {k: _copy(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [_copy(v) for v in o]
    return copy.deepcopy(o)

def fingerprint(learn):
    opt = learn.opt
    return dict(
        model=_copy(learn.model.state_dict()),  # parameters and buffers (BN stats, num_batches_tracked)
        param_ids=[id(p) for p in learn.model.parameters()],
        grads=[None if p.grad is None else _copy(p.grad) for p in learn.model.parameters()],
        requires_grad=[p.requires_grad for p in learn.model.parameters()],
        modes=[m.training for m in learn.model.modules()],
        opt_id=id(opt),
        opt_state=None if opt is None else _copy(opt.state_dict()['state']),
        opt_hypers=None if opt is None else _copy([dict(h) for h in opt.hypers]),
        opt_param_ids=None if opt is None else [id(p) for pg in opt.param_lists for p in pg],
        lr=learn.lr,
        rng=(random.getstate(), np.random.get_state(), torch.get_rng_state()),
        dl_rng=[dl.rng.getstate() for dl in learn.dls.loaders],
        cbs=list(learn.cbs),
        recorder={k: _copy(getattr(learn.recorder, k, None)) for k in ('lrs', 'iters', 'losses', 'values', 'hps')},
        loop={k: _copy(getattr(learn, k, None)) for k in ('epoch', 'n_epoch', 'training', 'train_iter', 'pct_train')},
    )

def _eq(a, b):
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray): return np.array_equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)): return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    return a is b or a == b

def assert_same(a, b):
    bad = [k for k in a if not _eq(a[k], b[k])]
    assert not bad, f"changed: {bad}"

# ---- restore ----------------------------------------------------------------------------------------------------------
def test_restore_after_normal_run(tmp_path):
    learn = make_learner(tmp_path)
    before = fingerprint(learn)
    res = learn.lr_find_plus(num_it=20, stop_div=False, suggest_funcs=valley, show_plot=False)
    assert res.runs[0].stop == 'num_it' and len(res.lrs) == 20
    assert_same(before, fingerprint(learn))

def test_comparison_detects_a_change(tmp_path):
    "The same range test without the restore leaves a different fingerprint: the check above can fail"
    learn = make_learner(tmp_path)
    before = fingerprint(learn)
    learn.fit(2, cbs=LRFinderPlus(num_it=20))
    with pytest.raises(AssertionError, match='model'): assert_same(before, fingerprint(learn))

def test_restore_with_to_cpu(tmp_path):
    learn = make_learner(tmp_path)
    before = fingerprint(learn)
    learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False, to_cpu=True)
    assert_same(before, fingerprint(learn))

def test_restore_after_divergence(tmp_path):
    learn = make_learner(tmp_path)
    before = fingerprint(learn)
    res = learn.lr_find_plus(start_lr=1e-2, end_lr=1e5, num_it=40, suggest_funcs=valley, show_plot=False)
    assert res.runs[0].stop == 'diverged' and len(res.runs[0].lrs) < 40
    assert_same(before, fingerprint(learn))

class NaNAfter(torch.nn.Module):
    def __init__(self, k): super().__init__(); self.k, self.n = k, 0
    def forward(self, x, y):
        self.n += 1
        return F.cross_entropy(x, y) * (float('nan') if self.n > self.k else 1.)

def test_restore_after_nan_loss(tmp_path):
    learn = make_learner(tmp_path)
    learn.loss_func = NaNAfter(5)
    before = fingerprint(learn)
    res = learn.lr_find_plus(num_it=30, suggest_funcs=valley, show_plot=False)
    assert res.runs[0].stop == 'nan' and len(res.runs[0].lrs) == 6
    assert np.isnan(res.runs[0].raw_losses[-1])
    assert_same(before, fingerprint(learn))

class FailAfter(torch.nn.Module):
    "Wraps `m`; raises `exc` in forward after `k` calls"
    def __init__(self, m, k, exc): super().__init__(); self.m, self.k, self.exc, self.n = m, k, exc, 0
    def forward(self, x):
        self.n += 1
        if self.n > self.k: raise self.exc('raised in forward')
        return self.m(x)

@pytest.mark.parametrize('exc', [RuntimeError, KeyboardInterrupt])
def test_restore_after_exception_in_forward(tmp_path, exc):
    learn = make_learner(tmp_path)
    learn.model = FailAfter(learn.model, 7, exc)
    before = fingerprint(learn)
    with pytest.raises(exc, match='raised in forward'):
        learn.lr_find_plus(num_it=30, suggest_funcs=valley, show_plot=False)
    assert learn.model.n == 8  # it really trained 7 batches first
    assert_same(before, fingerprint(learn))

class InterruptAfter(Callback):
    def __init__(self, k): self.k, self.n = k, 0
    def after_batch(self):
        self.n += 1
        if self.n > self.k: raise KeyboardInterrupt('interrupted from a callback')

def test_keyboard_interrupt_from_callback(tmp_path):
    learn = make_learner(tmp_path)
    learn.add_cb(InterruptAfter(4))
    before = fingerprint(learn)
    with pytest.raises(KeyboardInterrupt, match='from a callback'):
        learn.lr_find_plus(num_it=30, suggest_funcs=valley, show_plot=False)
    assert_same(before, fingerprint(learn))
    assert learn.interrupt_after.n == 0  # the callback's own state is restored too

class UnfreezeOnFit(Callback):
    "A user callback that unfreezes the model when a fit starts"
    def before_fit(self): self.learn.unfreeze()

def test_restore_frozen_state_changed_during_the_test(tmp_path):
    learn = make_learner(tmp_path, splitter=two_groups)
    learn.freeze()
    learn.add_cb(UnfreezeOnFit())
    before = fingerprint(learn)
    learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False)
    assert_same(before, fingerprint(learn))
    assert not all(p.requires_grad for p in learn.model.parameters())

def test_restore_with_a_torch_optimizer(tmp_path):
    from functools import partial
    from fastai.optimizer import OptimWrapper
    learn = make_learner(tmp_path, opt_func=partial(OptimWrapper, opt=torch.optim.AdamW))
    assert isinstance(learn.opt, OptimWrapper) and len(learn.opt.opt.state)
    before = fingerprint(learn)
    learn.lr_find_plus(num_it=10, n_runs=2, suggest_funcs=valley, show_plot=False)
    assert_same(before, fingerprint(learn))

def test_then_fit_is_the_same_fit(tmp_path):
    "After the test, training is bit for bit what it would have been without it (weights, data order, RNG)"
    a, b = make_learner(tmp_path/'a'), make_learner(tmp_path/'b')
    a.lr_find_plus(num_it=20, n_runs=2, suggest_funcs=valley, show_plot=False)
    a.fit(1, 1e-3); b.fit(1, 1e-3)
    assert _eq(_copy(a.model.state_dict()), _copy(b.model.state_dict()))

# ---- files ------------------------------------------------------------------------------------------------------------
def listing(p): return sorted(str(f.relative_to(p)) for f in Path(p).rglob('*'))

def test_no_files_written(tmp_path, monkeypatch):
    tmp = tmp_path/'tmp'; tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    learn = make_learner(tmp_path/'learn')
    Path(learn.path).mkdir(parents=True, exist_ok=True)
    old = listing(learn.path)
    learn.lr_find_plus(num_it=15, n_runs=2, suggest_funcs=valley, show_plot=False)
    assert listing(learn.path) == old and listing(tmp) == []
    learn.lr_find(num_it=15, show_plot=False)  # fastai's own leaves `models/` behind: the check can fail
    assert listing(learn.path) != old

def test_read_only_model_dir(tmp_path):
    learn = make_learner(tmp_path)
    models = Path(tmp_path)/'models'; models.mkdir()
    models.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        before = fingerprint(learn)
        learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False)
        assert_same(before, fingerprint(learn)) and listing(models) == []
    finally: models.chmod(stat.S_IRWXU)
    # root ignores permissions, so also a model_dir that cannot exist for anyone: a path inside a file
    (Path(tmp_path)/'file').write_text('x')
    learn.model_dir = 'file/models'
    with pytest.raises(Exception): learn.lr_find(num_it=10, show_plot=False)
    learn.lr_find_plus(num_it=10, suggest_funcs=valley, show_plot=False)

# ---- bad input --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs,msg', [
    (dict(start_lr=1., end_lr=1e-3), 'must be below'),
    (dict(start_lr=[1e-7, 1e-2], end_lr=[1., 1e-3]), 'parameter group 1'),
    (dict(start_lr=[1e-7, 1e-7, 1e-7], end_lr=1.), '2 parameter group'),
    (dict(num_it=1), 'at least 2'),
    (dict(n_runs=0), 'n_runs'),
    (dict(bootstrap=-1), 'bootstrap'),
    (dict(schedule='cos'), "'exp' or 'linear'"),
    (dict(div_thresh=0.5), 'div_thresh'),
])
def test_bad_input_raises_and_changes_nothing(tmp_path, kwargs, msg):
    learn = make_learner(tmp_path, splitter=two_groups)
    before = fingerprint(learn)
    with pytest.raises(ValueError, match=msg): learn.lr_find_plus(show_plot=False, **kwargs)
    assert_same(before, fingerprint(learn))

def test_empty_train_and_missing_valid(tmp_path):
    from fastai.data.core import DataLoaders
    empty = Learner(digits_dls(bs=4096), digits_cnn(), loss_func=CrossEntropyLossFlat(), path=tmp_path)
    with pytest.raises(ValueError, match='training DataLoader is empty'): empty.lr_find_plus(show_plot=False)
    learn = make_learner(tmp_path)
    learn.dls = DataLoaders(learn.dls.train)
    before = fingerprint(learn)
    with pytest.raises(ValueError, match='validation set'): learn.lr_find_plus(val_batches=2, show_plot=False)
    assert_same(before, fingerprint(learn))

# ---- what is recorded ------------------------------------------------------------------------------------------------
class Counting(torch.nn.Module):
    "Cross-entropy that remembers every batch loss (the loss function is not part of the snapshot)"
    def __init__(self): super().__init__(); self.seen = []
    def forward(self, x, y):
        l = F.cross_entropy(x, y); self.seen.append(l.item()); return l

def test_gradient_accumulation_one_point_per_step(tmp_path):
    learn = make_learner(tmp_path, train=False, cbs=GradientAccumulation(128))  # batches of 64: 2 per step
    learn.loss_func = Counting()
    res = learn.lr_find_plus(start_lr=1e-5, end_lr=1e-1, num_it=12, suggest_funcs=valley, show_plot=False)
    r = res.runs[0]
    assert len(r.lrs) == 12 and len(learn.loss_func.seen) == 24
    np.testing.assert_allclose(np.log10(r.lrs), np.linspace(-5, -1, 12))
    np.testing.assert_allclose(r.raw_losses, np.array(learn.loss_func.seen).reshape(12, 2).mean(1), rtol=1e-6)

def test_validation_loss_mode(tmp_path):
    learn = make_learner(tmp_path)
    before = fingerprint(learn)
    res = learn.lr_find_plus(num_it=10, val_batches=2, stop_div=False, suggest_funcs=valley, show_plot=False)
    assert len(res.runs[0].lrs) == 10 and np.isfinite(res.runs[0].raw_losses).all()
    assert_same(before, fingerprint(learn))

def test_frozen_groups_after_fine_tune_and_n_runs(tmp_path):
    learn = make_learner(tmp_path, train=False, splitter=two_groups)
    learn.fine_tune(1, freeze_epochs=1)
    learn.freeze()
    before = fingerprint(learn)
    assert not all(before['requires_grad'])
    res = learn.lr_find_plus(start_lr=[1e-8, 1e-7], end_lr=[1., 10.], num_it=20, n_runs=3,
                             suggest_funcs=(valley, steep), show_plot=False)
    assert_same(before, fingerprint(learn))
    assert len(res.runs) == 3 and res.band is not None and len(res.band[0]) == len(res.lrs)
    assert set(res.spread) == {'valley', 'steep'} and all(np.isfinite(v) for v in res.spread.values())
    assert all(len(res.picks[k]) == 3 for k in res._fields)
    assert res.runs[0].lrs[-1] == pytest.approx(10.)  # the head group's range

def test_result_is_backward_compatible(tmp_path):
    learn = make_learner(tmp_path)
    res = learn.lr_find_plus(num_it=20, suggest_funcs=(valley, steep), bootstrap=20, show_plot=False)
    lr_min, lr_steep = res
    assert isinstance(res, tuple) and isinstance(res, FinderResult) and res._fields == ('valley', 'steep')
    assert (lr_min, lr_steep) == (res.valley, res.steep) == (res[0], res[1])
    assert res.boot_picks['valley'].shape == (20,) and 'valley' in repr(res) and '|' in res._repr_markdown_()

def test_no_suggestions_and_default_suggestion(tmp_path):
    learn = make_learner(tmp_path)
    res = learn.lr_find_plus(num_it=10, suggest_funcs=(), show_plot=False)
    assert len(res) == 0 and len(res.lrs) == 10 and isinstance(res.plot(), plt.Figure)
    from fastlrx.finder import default_suggest
    from fastlrx.suggest import suggestion_name
    res = learn.lr_find_plus(num_it=10, show_plot=False)
    assert res._fields == (suggestion_name(default_suggest()),)
    plt.close('all')

def test_plots_return_figures(tmp_path):
    learn = make_learner(tmp_path)
    res = learn.lr_find_plus(num_it=20, n_runs=2, suggest_funcs=valley, show_plot=False)
    assert isinstance(res.plot(), plt.Figure)
    learn.lr_find(num_it=20, show_plot=False)  # stock lr_find still works
    assert isinstance(learn.recorder.plot_lr_find(), plt.Figure)
    plt.close('all')

# ---- AutoLR and milestones ------------------------------------------------------------------------------------------
def test_autolr_sets_the_lr_of_fit_one_cycle(tmp_path):
    learn = make_learner(tmp_path, train=False, cbs=AutoLR(valley, num_it=20))
    learn.fit_one_cycle(1, 1e-6)
    (ch,) = learn.auto_lr.history
    assert (ch.fit, ch.epoch, ch.prev_lr, ch.suggestion) == (0, 0, 1e-6, 'valley')
    assert ch.lr == pytest.approx(ch.result.valley) and ch.lr > 1e-5
    assert max(learn.recorder.hps['lr']) == pytest.approx(ch.lr, rel=0.02)

def test_autolr_fine_tune_tests_both_phases(tmp_path):
    learn = make_learner(tmp_path, train=False, splitter=two_groups, cbs=AutoLR(valley, num_it=15))
    learn.fine_tune(1, freeze_epochs=1)
    h = learn.auto_lr.history
    assert [c.fit for c in h] == [0, 1]
    assert learn.opt.hypers[-1]['lr'] / learn.opt.hypers[0]['lr'] == pytest.approx(100)

def test_milestones(tmp_path):
    learn = make_learner(tmp_path, train=False)
    ms = LRFinderMilestones([1], valley, num_it=15)
    learn.fit_one_cycle(2, 1e-6, cbs=ms)
    assert [(c.fit, c.epoch) for c in ms.history] == [(0, 1)]
    n = len(learn.recorder.hps['lr']) // 2
    assert max(learn.recorder.hps['lr'][n:]) == pytest.approx(ms.history[0].lr, rel=0.02)
    assert len(learn.recorder.values) == 2  # the outer fit ran both epochs

@pytest.mark.parametrize('precision', ['to_fp16', 'to_bf16'])
def test_restore_with_mixed_precision(tmp_path, precision):
    "fastai's MixedPrecision callback stays, and the state is restored (on the CPU here; GPU untested in CI)"
    learn = getattr(make_learner(tmp_path), precision)()
    before = fingerprint(learn)
    res = learn.lr_find_plus(num_it=20, suggest_funcs=valley, show_plot=False)
    assert np.isfinite(res.valley)
    assert_same(before, fingerprint(learn))
    assert any(type(c).__name__ == 'MixedPrecision' for c in learn.cbs)
