"The fastai workflows end to end: a range test on a model that already trains well, `AutoLR` in `fine_tune`, what a log receives, and mistakes caught before anything runs."
import math, os, re, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pytest, torch
from fastai.data.core import DataLoaders
from fastai.callback.schedule import valley
from fastlrx.all import *
from fastlrx.testing import digits_learner, two_groups, NaNAfter, fingerprint, fingerprint_diff

ROOT = Path(__file__).parent.parent

@pytest.fixture(scope='module')
def trained():
    "The digits CNN in two groups, trained to a loss near zero (batches of 16, 20 epochs): where `fine_tune`'s unfrozen phase starts"
    learn = digits_learner(splitter=two_groups)
    learn.dls = DataLoaders(learn.dls.train.new(bs=16), learn.dls.valid)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(20, 1e-2)
    return learn

def test_range_test_reads_a_model_trained_to_near_zero_loss(trained):
    "fastai's `smoothed > 4 * best` stopped this test after 3 points: its batch losses are ~1e-4 and jump 10x between steps"
    with trained.no_bar():
        before = fingerprint(trained)
        res = trained.lr_find_plus(show_plot=False)
        after = fingerprint(trained)
    r = res.runs[0]
    assert r.raw_losses[:10].max() < 0.01, r.raw_losses[:10]
    assert len(r.lrs) > 50 and r.stop in ('diverged', 'num_it'), (len(r.lrs), r.stop)
    assert np.isfinite(res.recommended) and res.recommended > 1e-6, res
    assert fingerprint_diff(before, after) == []

def test_fine_tune_with_autolr_gets_a_real_pick_in_both_phases(trained):
    "Each phase of `fine_tune` trains at a pick of its own range test, read off a curve that ran until the loss really climbed (before: 'keeps its learning rate')"
    auto = AutoLR()
    with trained.no_bar(), trained.no_logging(): trained.fine_tune(1, cbs=auto)
    h = auto.history
    assert [c.fit for c in h] == [0, 1]
    for c in h:
        assert c.lr is not None and math.isfinite(c.lr) and c.lr > 0, c
        assert len(c.result.lrs) > 50, (c.fit, len(c.result.lrs), c.result.runs[0].stop)
        assert c.cost['steps'] == len(c.result.lrs) and c.cost['secs'] > 0 and c.ratio is None

def _run(code:str) -> subprocess.CompletedProcess:
    "Run `code` in a fresh Python whose stdout is a pipe, as in a log file or CI"
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)

def test_a_log_gets_one_line_per_range_test_not_bars():
    "Three range tests wrote 53,842 bytes of bar redraws to a pipe before; now each writes one line: pick, steps, stops, seconds"
    r = _run("from fastlrx.all import *\nfrom fastlrx.testing import digits_learner\nlearn = digits_learner()\n"
             "for _ in range(3): learn.lr_find_plus(show_plot=False)")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and len(r.stdout) < 600, r.stdout[:1000]
    assert all(l.startswith('lr_find_plus: recommended=') and ' steps (' in l and l.endswith(' s') for l in lines), lines

def test_lr_find_slice_writes_one_line_to_a_log():
    r = _run("from fastlrx.all import *\nfrom fastlrx.testing import digits_learner, two_groups\n"
             "learn = digits_learner(splitter=two_groups)\nlearn.lr_find_slice(ratios=(10, 100), num_it=30, show_plot=False)")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith('lr_find_slice: lr=slice(') and r.stdout.count('\n') == 1 and '2 range tests, ' in r.stdout, r.stdout[:500]

def test_autolr_says_what_it_costs_in_one_line():
    "`AutoLR`'s line gives its pick, the LR it replaced, and the steps and seconds of its range tests against the fit's"
    r = _run("from fastlrx.all import *\nfrom fastlrx.testing import digits_learner\nlearn = digits_learner(cbs=AutoLR(num_it=40))\n"
             "with learn.no_bar(): learn.fit_one_cycle(2)")
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(l for l in r.stdout.splitlines() if l.startswith('AutoLR'))
    assert line.startswith('AutoLR: fit 1 trains at lr=') and 'range tests: 40 steps in ' in line, line
    assert re.search(r"\d+% of the fit's \d+ steps\)$", line), line
    assert '█' not in r.stdout

def test_mistakes_fail_before_anything_runs():
    learn = digits_learner()
    before = fingerprint(learn)
    with pytest.raises(TypeError, match=r'call it first, e\.g\. `planned\(epochs, steps_per_epoch\)`'):
        learn.lr_find_plus(suggest_funcs=(planned,), show_plot=False)
    with pytest.raises(TypeError, match='`once` must be True or False'): AutoLR(once='yes')
    with pytest.raises(TypeError, match='`discriminative` must be True or False'): AutoLR(discriminative=1)
    with pytest.raises(TypeError, match='`suggest_func` takes one suggestion function'): AutoLR('valley')
    with pytest.raises(TypeError, match=r'unknown keyword `foo`\. It takes the keywords'): AutoLR(foo=1)
    with pytest.raises(ValueError, match='at least 1'): AutoLR(ratios=(0.5,))
    with pytest.raises(TypeError, match='`suggest_func` takes one suggestion function'): LRFinderMilestones(1, 'valley')
    with pytest.raises(TypeError, match='suggest_func='): learn.lr_find_slice(suggest_funcs=(valley,))
    for k, v in dict(stop_div='yes', to_cpu='no', show_plot='x').items():
        with pytest.raises(TypeError, match=f'`{k}` must be True or False'): learn.lr_find_plus(**{k: v})
    with pytest.raises(TypeError, match='`skip_cbs` takes a tuple'): learn.lr_find_plus(skip_cbs=5)
    with pytest.raises(ValueError, match='`beta`'): AutoLR(beta=1.5)
    assert fingerprint_diff(before, fingerprint(learn)) == []

def test_a_loss_that_is_nan_from_the_start():
    "`lr_find_plus` raises and names the likely causes; `AutoLR` keeps the LR and warns"
    learn = digits_learner()
    learn.loss_func = NaNAfter(0)
    with learn.no_bar():
        before = fingerprint(learn)
        with pytest.raises(ValueError, match='Likely causes'): learn.lr_find_plus(show_plot=False)
        assert fingerprint_diff(before, fingerprint(learn)) == []
    auto = AutoLR(num_it=20)
    with warnings.catch_warnings(record=True) as w, learn.no_bar(), learn.no_logging():
        warnings.simplefilter('always')
        learn.fit(1, 1e-3, cbs=[auto])
    assert auto.history[0].lr is None and any('NaN or infinite from the first steps' in str(x.message) for x in w)

def test_an_early_stop_names_the_setting_that_controls_it():
    learn = digits_learner()
    with warnings.catch_warnings(record=True) as w, learn.no_bar():
        warnings.simplefilter('always')
        res = learn.lr_find_plus(start_lr=0.1, end_lr=1e5, num_it=30, show_plot=False)
    assert res.runs[0].stop == 'diverged' and len(res.runs[0].lrs) < 20, res.runs[0]
    msg = ' '.join(str(x.message) for x in w)
    assert 'too few to read' in msg and '`div_thresh`' in msg and "fastai's default is 100" not in msg, msg

def test_lr_find_plus_tests_the_learning_rates_lr_find_tests():
    "The same LRs as stock `lr_find`, so the same rule picks the same LR on the same Learner (0.058 against 0.068 before)"
    learn = digits_learner()
    with learn.no_bar(): ours = learn.lr_find_plus(num_it=50, show_plot=False)
    with learn.no_bar(): learn.lr_find(num_it=50, show_plot=False, suggest_funcs=())
    np.testing.assert_allclose(ours.lrs, learn.recorder.lrs[:len(ours.lrs)], rtol=1e-6)
