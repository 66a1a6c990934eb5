"Robustness of every suggestion function: any curve gives a finite LR inside the tested range, or a ValueError."
import math, warnings
import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck
from fastai.callback.schedule import valley
from fastlrx.all import *

FUNCS = [curvature, steepest, divergence, edge, recommended, planned(20, 50, 'fit'), variant(planned(2, 10, 'one_cycle'), 'planned_short'),
         ensemble(curvature, steepest, divergence, valley), ensemble(steepest, divergence, agg='gmean')]
ids = [suggestion_name(f) for f in FUNCS]

def check(func, lrs, losses, num_it=100):
    "A finite LR inside the finite part of `lrs`, or a ValueError; nothing else"
    try: lr, (x, y) = func(lrs, losses, num_it)
    except ValueError as e:
        assert str(e), "a ValueError must say what is wrong"
        return None
    lo, hi = float(np.min(np.asarray(lrs, dtype=float))), float(np.max(np.asarray(lrs, dtype=float)))
    assert isinstance(lr, float) and math.isfinite(lr), lr
    assert lo * (1 - 1e-9) <= lr <= hi * (1 + 1e-9), (lr, lo, hi)
    assert math.isfinite(x) and math.isfinite(y)
    return lr

def valley_curve(n=100, noise=0.0, seed=0, lo=-7, hi=1):
    "A typical range-test shape: plateau, descent, minimum near 1e-2, divergence"
    lrs = np.logspace(lo, hi, n)
    x = np.log10(lrs)
    loss = 2.3 - 1.5 / (1 + np.exp(-(x + 3) * 2)) + np.exp(2.5 * (x + 1))
    return lrs, loss + np.random.default_rng(seed).normal(0, noise, n)

def lr_find_curve(n=100, noise=0.0, seed=0):
    "What `lr_find` passes a suggestion function for a `valley_curve` of `n` batch losses: fastai's smoothed loss, trimmed"
    lrs, raw = valley_curve(n, noise, seed)
    avg, smoothed = 0., []
    for k, l in enumerate(raw, 1): avg = 0.98 * avg + 0.02 * l; smoothed.append(avg / (1 - 0.98 ** k))
    return lrs[n // 10:n - 5], np.array(smoothed[n // 10:n - 5])

@pytest.mark.parametrize('func', FUNCS, ids=ids)
@pytest.mark.parametrize('kind', ['list', 'numpy', 'tensor', 'float32'])
def test_input_types(func, kind):
    lrs, losses = lr_find_curve()
    conv = dict(list=lambda a: a.tolist(), numpy=lambda a: a, tensor=torch.tensor, float32=lambda a: torch.tensor(a, dtype=torch.float32))[kind]
    lr = check(func, conv(lrs), conv(losses))
    assert lr is not None and 1e-5 < lr < 1e-1, lr

@pytest.mark.parametrize('func', FUNCS, ids=ids)
@pytest.mark.parametrize('where', ['start', 'middle', 'end'])
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_losses(func, where, bad):
    lrs, losses = valley_curve()
    i = dict(start=0, middle=50, end=99)[where]
    losses[i] = bad
    lr = check(func, lrs, losses)
    if where != 'middle': assert lr is not None
    if lr is not None and where == 'middle': assert lr <= lrs[49] * (1 + 1e-9)

@pytest.mark.parametrize('func', FUNCS, ids=ids)
@pytest.mark.parametrize('n', [0, 1, 2, 3, 4])
def test_short_curves(func, n):
    lrs, losses = valley_curve(n=max(n, 1))
    lr = check(func, lrs[:n], losses[:n])
    if n < 3:
        with pytest.raises(ValueError, match='at least'): func(lrs[:n], losses[:n], 100)

@pytest.mark.parametrize('func', FUNCS, ids=ids)
def test_flat_curve_is_a_clear_error(func):
    with pytest.raises(ValueError, match='flat'): func(np.logspace(-7, 1, 50), np.full(50, 2.3), 100)

@pytest.mark.parametrize('func', FUNCS, ids=ids)
def test_rising_curve_gives_the_low_end(func):
    lrs = np.logspace(-7, 1, 80)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        lr = check(func, lrs, 1 + lrs ** 0.3)
    assert lr is not None and lr <= lrs[8], lr

@pytest.mark.parametrize('func', FUNCS, ids=ids)
def test_not_increasing_lrs(func):
    lrs, losses = valley_curve()
    with pytest.raises(ValueError, match='increasing'): func(lrs[::-1], losses, 100)
    with pytest.raises(ValueError, match='increasing'): func(np.r_[lrs[:10], lrs[9:]], np.r_[losses[:10], losses[9:]], 100)

@pytest.mark.parametrize('func', FUNCS, ids=ids)
def test_noisy_curves_stay_near_the_clean_pick(func):
    clean = check(func, *lr_find_curve())
    picks = [check(func, *lr_find_curve(noise=0.3, seed=s)) for s in range(5)]
    assert all(p is not None for p in picks)
    assert np.abs(np.log10(picks) - np.log10(clean)).max() < 1.0, (clean, picks)

curve_points = st.integers(0, 120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=curve_points, lo=st.floats(-9, -2), span=st.floats(0.5, 10), data=st.data(),
       scale=st.floats(1e-6, 1e6), offset=st.floats(-10, 10))
def test_property_any_curve(n, lo, span, data, scale, offset):
    lrs = np.logspace(lo, lo + span, n) if n else np.array([])
    elems = st.one_of(st.floats(-5, 5), st.sampled_from([float('nan'), float('inf'), -float('inf')]))
    raw = np.array(data.draw(st.lists(elems, min_size=n, max_size=n)), dtype=float)
    losses = offset + scale * raw
    for func in FUNCS:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            check(func, lrs, losses)

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0, 0.5), n=st.integers(20, 400))
def test_property_range_test_shapes(seed, noise, n):
    "On the curves `lr_find` passes, every function gives an LR before the divergence"
    lrs, losses = lr_find_curve(n=n, noise=noise, seed=seed)
    for func in FUNCS:
        lr = check(func, lrs, losses, num_it=n)
        assert lr is not None and lr < 1, (suggestion_name(func), lr)

def test_after_training_like_fastai_issue_3658():
    "fastai #3658: after fine-tuning, every suggestion method threw. A trained model's curve is flat, then diverges fast."
    from fastlrx.testing import digits_learner
    learn = digits_learner()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 0.03)
    with learn.no_bar(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        res = learn.lr_find(suggest_funcs=FUNCS, show_plot=False)
    lrs = learn.recorder.lrs
    assert len(lrs) < 100, "the test should diverge early, as in the issue"
    for name, lr in zip(res._fields, res):
        assert math.isfinite(lr) and lrs[0] <= lr <= lrs[-1], (name, lr)
