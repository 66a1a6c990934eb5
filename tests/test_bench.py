"The benchmark in `bench/`: a task or a contestant is one declaration, its peers behave like their libraries, its scoring and leave-one-family-out are right, the quick run works end to end, and the shipped results are what the docs say."
import json, math, os, re, subprocess, sys
from collections import Counter
from functools import partial
from pathlib import Path
import numpy as np, pytest, torch
from torch import nn
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.metrics import error_rate
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from bench.registry import Registry
from bench.tasks import TASKS, SCHEDULES, Task, log_grid, is_diverged, sklearn_frame
from bench.plan import BenchTask, bench_plan, long_plan
from bench.peers import lightning_suggestion, torch_optimizer, torch_lr_finder_run
from bench.contestants import CONTESTANTS, PEERS, ALTERNATIVES, FASTLRX, Contestant, Fit, RECOMMENDED, curve_args
from bench.history import depth, trough, recommended_v01
from bench.score import relative_regret, lr_spread, filled, value_at, oracle, rule_row, trained_row
from bench.lofo import Tuned, lofo_rows, objective
from bench.evaluate import score_all, trained_at, same_lr
from bench.run import Unit, run_unit, run_units, select_tasks, task_units, pick_units, attach_picks
from bench.alternatives import fit_alternative, train_prodigy
from bench.cost import COST_METHODS, _StopAfter
from bench.store import save_json, read_json, load_results
from bench.report import regret_table, sweep_table, tasks_table, print_report, build_report, collect, close, rows_differ
from fastlrx.suggest import EDGE_FACTOR, CONSTANT_LR
from fastlrx.testing import recorded_curve
import fastlrx.suggest

ROOT = Path(__file__).parent.parent

def _grid(losses, lrs=(1e-3, 1e-2, 1e-1, 1.0)):
    "Grid rows as `Task.fit_at` gives them"
    return [dict(lr=lr, valid_loss=v, metric=v / 10, diverged=not math.isfinite(v) or v > 10, start_loss=2.3) for lr, v in zip(lrs, losses)]

def test_grid_oracle_and_interpolation():
    grid = log_grid(1e-3, 1, 4)
    assert len(grid) == 13 and grid[0] == 1e-3 and grid[-1] == 1.0 and 0.0562341 in grid
    g = _grid([0.9, 0.5, 0.7, math.inf])
    test = oracle(g)
    assert test['lr'] == 1e-2 and test['valid_loss'] == 0.5 and test['metric'] == pytest.approx(0.05)
    assert value_at(g, 10 ** -1.5) == pytest.approx(0.6)                 # halfway in log10(lr)
    assert value_at(g, 1.0) == 2.3 and value_at(g, 10.) == 2.3           # a diverged run counts as untrained
    assert value_at(g, 1e-5) == 0.9 and math.isinf(value_at(g, math.nan))
    assert filled(_grid([0.9, 50., 0.5, 0.7]))[1][1] == 2.3              # finite but diverged (> 2x untrained) too
    assert is_diverged(math.inf, 1.0) and is_diverged(None, 1.0) and is_diverged(2.5, 1.0) and not is_diverged(1.5, 1.0)

def test_regret_rows():
    g = _grid([0.9, 0.5, 0.7, math.inf])
    r = rule_row(g, 1e-1)
    assert r['loss_regret'] == pytest.approx(0.4) and r['metric_regret'] == pytest.approx(0.4) and not r['trained']
    t = trained_row(g, dict(lr=3e-2, valid_loss=0.45, metric=0.05, diverged=False))
    assert t['loss_regret'] == pytest.approx(-0.1) and t['trained']
    d = trained_row(g, dict(lr=1.0, valid_loss=40., metric=0.5, diverged=True))
    assert d['diverged'] and d['loss_regret'] == pytest.approx(3.6), "a diverged fit scores as the grid's diverged runs: the untrained loss"
    assert relative_regret(0.02, 0.0, floor=0.01) == pytest.approx(2.0) and relative_regret(math.nan, 1.0) == math.inf
    assert lr_spread([1e-4, 1e-2]) == pytest.approx(2.0) and math.isnan(lr_spread([]))

def test_the_suite_varies_every_axis_the_issue_names():
    plan = bench_plan()
    tasks = [b.task for b in plan]
    assert len(plan) >= 12 and all(b.per_decade >= 4 and len(b.seeds) >= 3 for b in plan)
    assert {t.schedule for t in tasks} == set(SCHEDULES)
    assert min(t.epochs for t in tasks) == 1 and max(t.epochs for t in tasks) >= 20
    fams = Counter(t.family for t in tasks)
    assert len(fams) >= 8 and sum(n > 1 for n in fams.values()) >= 3, "families with several budgets"
    for old in ('digits_cnn', 'pets_lite0', 'tabular_cancer', 'diabetes_reg', 'wine_sgd'): assert old in TASKS
    text = ' '.join(t.desc for t in tasks)
    for words in ('MLP', 'BatchNorm CNN', 'without BatchNorm', 'pretrained', 'GRU', 'transformer', 'AdamW', 'momentum 0.9',
                  'plain SGD', 'bs 8', 'bs 256'): assert words in text, words
    assert [b.name for b in bench_plan(quick=True)] == ['digits_mlp_2ep', 'cancer_sgd_bs8']
    with pytest.raises(ValueError, match='Unknown dataset'): sklearn_frame('nope')
    with pytest.raises(ValueError, match="Unknown tasks \\['nope'\\]"): select_tasks(plan, ['nope'])

# A task or a contestant is one declaration

def _toy_learner(seed):
    "An 8-16-2 MLP on 320 synthetic rows (256 train / 64 valid, the same at every seed), Adam"
    x = torch.randn(320, 8, generator=torch.Generator().manual_seed(0))
    ds = list(zip(x, (x[:, :2].sum(1) > 0).long()))
    dls = DataLoaders(DataLoader(ds[:256], bs=32, shuffle=True, drop_last=True), DataLoader(ds[256:], bs=64))
    return Learner(dls, nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)), loss_func=CrossEntropyLossFlat(), metrics=error_rate)

TOY = Task('toy_mlp', _toy_learner, 'one_cycle', 1, 'toy', grid=(1e-2, 1e-1, 1), desc='8-16-2 MLP on 320 synthetic rows, fit_one_cycle(1, lr)')

def test_registries_are_declared_once_and_never_change():
    more = TASKS.plus(TOY)
    assert list(more)[-1] == 'toy_mlp' and 'toy_mlp' not in TASKS, "`plus` makes a new registry"
    assert [b.name for b in bench_plan(tasks=more)][-1] == 'toy_mlp' and bench_plan(tasks=more)[-1].grid == [0.01, 0.1], "the grid is the task's"
    assert bench_plan(tasks=Registry(TOY))[0].seeds == (0, 1, 2) and long_plan(Registry(TOY)) == []
    assert [b.name for b in long_plan()] == ['digits_cnn_30ep', 'wine_sgd_100ep', 'digits_mlp_bs32_20ep', 'cancer_sgd_15ep']
    with pytest.raises(ValueError, match='declared twice'): TASKS.plus(TASKS['wine_sgd'])
    with pytest.raises(KeyError, match="'nope' is not registered"): CONTESTANTS.only('minimum', 'nope')
    with pytest.raises(ValueError, match='grid'): Task('bad', _toy_learner, 'fit', 1, 'toy', grid=(1., 0.1))
    with pytest.raises(ValueError, match='suite'): Task('bad', _toy_learner, 'fit', 1, 'toy', grid=(0.1, 1.), suite='all')
    pick = lambda run: 1e-3
    with pytest.raises(ValueError, match='exactly one of'): Contestant('bad', 'peer', 'x', pick=pick, tuned=RECOMMENDED)
    with pytest.raises(ValueError, match='unknown group'): Contestant('bad', 'rule', 'x', pick=pick)
    with pytest.raises(ValueError, match='reference'): Contestant('bad', 'reference', 'x', pick=pick)
    assert PEERS == ('minimum', 'steep', 'slide', 'valley', 'lightning', 'torch_lr_finder')
    assert (ALTERNATIVES, FASTLRX) == (('fastai_default', 'prodigy', 'schedulefree'), ('recommended_v0.1', 'recommended', 'planned', 'AutoLR'))

def test_the_registries_are_what_ships(shipped):
    "The tasks' grids and the contestants' descriptions are the ones the shipped results were measured and written with"
    assert {t: i['grid'] for t, i in shipped['tasks'].items()} == {b.name: b.grid for b in bench_plan()}
    assert shipped['how'] == {n: c.how for n, c in CONTESTANTS.items()}
    assert shipped['contestants'] == [*PEERS, *ALTERNATIVES, *FASTLRX]

def test_a_toy_task_and_a_toy_contestant_run_and_reach_the_tables(tmp_path, capsys):
    "Declared once each, in new registries (the shipped ones stay as they are), a task and two contestants run as units and reach every table"
    tasks = TASKS.plus(TOY)
    fixed = Contestant('fixed_3e-3', 'alternative', 'a fixed LR (toy)', pick=lambda run: 3e-3)
    own = Contestant('toy_fit', 'alternative', 'its own fit at 0.05 (toy)', fit=Fit('toy', lambda task, seed: task.fit_at(0.05, seed)))
    contestants = CONTESTANTS.only('minimum', 'recommended').plus(fixed, own)
    plan, runner = [BenchTask(tasks['toy_mlp'], seeds=(0,))], partial(run_unit, tasks=tasks, contestants=contestants)
    units = task_units(plan[0], contestants)
    assert Unit('toy_mlp', 0, 'toy') in units and sum(u[2] == 'fit' for u in units) == 2
    assert run_units(units, tmp_path, procs=1, log=None, runner=runner) == len(units)
    results = collect(plan, tmp_path, contestants)
    run_units(pick_units(results, contestants), tmp_path, procs=1, log=None, runner=runner)
    report = build_report('toy', attach_picks(results, tmp_path, contestants), tmp_path, cost=False, contestants=contestants)
    table = regret_table(report)
    assert [l.split(' | ')[0] for l in table.splitlines()[2:]] == ['| minimum', '| fixed_3e-3', '| toy_fit', '| recommended'], "peers, alternatives, fastlrx"
    assert re.search(r'^\| fixed_3e-3 \| a fixed LR \(toy\) \| ', table, re.M) and '| toy_fit | its own fit at 0.05 (toy) |' in table
    assert '| toy_mlp | toy | one_cycle | 1 x 8 | 1 | 0.01..0.1 (2) |' in tasks_table(report)
    rows = {r['contestant']: r for r in report['rows']}
    assert rows['fixed_3e-3']['lr'] == 3e-3 and rows['fixed_3e-3']['trained'] and rows['toy_fit']['lr'] == 0.05
    assert report['best_peer'] == 'minimum' and report['autolr_cost'] == [] and list(report['constants']) == ['recommended']
    print_report(report)
    assert 'fixed_3e-3' in capsys.readouterr().out
    assert 'toy_mlp' not in TASKS and 'fixed_3e-3' not in CONTESTANTS and 'toy_fit' not in CONTESTANTS

def test_the_rules_kept_for_history_pick_as_before(shipped):
    "`bench.history`'s `depth` and `trough`, moved out of fastlrx, pick what they did there; `recommended_v01` what the shipped rows trained (within 1e-6)"
    lrs, losses, n, _ = recorded_curve('digits_cnn', 0)
    test = lambda got, want: np.isclose(got, want, rtol=1e-6, atol=0)
    assert test(depth(lrs, losses, n)[0], 0.02754228748) and test(trough(lrs, losses, n)[0], 0.02511886358)
    lrs, losses, n, _ = recorded_curve('tabular_cancer', 0)
    assert test(depth(lrs, losses, n)[0], 0.00524807442) and test(trough(lrs, losses, n)[0], 0.1096478224)
    picked = {(r['task'], r['seed']): r['lr'] for r in shipped['rows'] if r['contestant'] == 'recommended_v0.1'}
    for task in ('digits_cnn', 'tabular_cancer', 'wine_sgd', 'char_transformer'):
        for seed in (0, 1, 2): assert test(recommended_v01(*recorded_curve(task, seed)[:3])[0], picked[(task, seed)]), (task, seed)

def test_lightning_rule_matches_its_definition():
    "The most negative d loss / d lr (linear lr), after skipping 10 points at the start and 1 at the end"
    lrs = np.logspace(-7, 1, 100)
    loss = np.ones(100); loss[40:] = 0.5
    grad = np.gradient(loss[10:-1], lrs[10:-1])
    assert lightning_suggestion(lrs, loss) == pytest.approx(lrs[10:-1][grad.argmin()])
    loss[50:] = np.nan
    assert lightning_suggestion(lrs, loss) in (lrs[39], lrs[40])
    assert math.isnan(lightning_suggestion(lrs[:11], loss[:11]))

def test_torch_lr_finder_runs_on_tabular_batches_and_restores_weights():
    learn = TASKS['tabular_cancer'].make_learner(0)
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    res = torch_lr_finder_run(learn, num_it=30)
    assert 1e-7 <= res['lr'] <= 10 and len(res['lrs']) == len(res['losses']) > 0
    for k, v in learn.model.state_dict().items(): assert torch.equal(v, before[k]), k

def test_torch_optimizer_mirrors_fastai():
    g = torch_optimizer(TASKS['digits_cnn'].make_learner(0), 1e-3).param_groups[0]
    assert (g['betas'], g['eps'], g['weight_decay']) == ((0.9, 0.99), 1e-5, 0.01)
    sgd = torch_optimizer(TASKS['cancer_sgd_bs8'].make_learner(0), 1e-3)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]['momentum'] == 0.9
    learn = TASKS['digits_cnn'].make_learner(0)
    with pytest.raises(ValueError, match='No torch equivalent'):
        torch_optimizer(Learner(learn.dls, learn.model, loss_func=learn.loss_func, opt_func=lambda *a, **k: None), 1e-3)

def _toy_runs():
    "Two families whose best LR is 0.1x and 1x the stable edge (1.0) of the same curve"
    lrs, n = np.logspace(-7, 1, 100), 100
    raw = 2.3 - 2 / (1 + np.exp(-3 * (np.log10(lrs) + 3))) + np.exp(4 * np.log10(lrs))
    avg, losses = 0., []
    for k, l in enumerate(raw, 1): avg = 0.98 * avg + 0.02 * l; losses.append(avg / (1 - 0.98 ** k))
    grid_lrs = log_grid(1e-3, 10, 4)
    runs = []
    for fam, best in (('a', 0.1), ('b', 1.0)):
        for s in range(2):
            g = [dict(lr=lr, valid_loss=0.1 + abs(math.log10(lr / best)), metric=0.1, diverged=False, start_loss=2.3) for lr in grid_lrs]
            runs.append(dict(task=fam, family=fam, seed=s, lrs=lrs.tolist(), losses=losses, num_it=n, grid=g))
    return runs

def test_leave_one_family_out_never_sees_the_family():
    runs = _toy_runs()
    rule = Tuned('scale', lambda r, f: f, [dict(f=0.1), dict(f=1.0)])
    rows, chosen = lofo_rows(rule, runs)
    assert chosen == dict(a=dict(f=1.0), b=dict(f=0.1)), "each family gets the constant that suits the other"
    assert all(r['loss_regret'] > 0 for r in rows)
    assert rule.choose([r for r in runs if r['family'] == 'a']) == dict(f=0.1)
    assert objective(rule.rows(runs, dict(f=0.1))) == pytest.approx(1.5), "family means of regrets capped at 3: (0 + 3) / 2"

def test_recommended_rule_reads_the_edge_like_the_library():
    r = dict(_toy_runs()[0])
    lr = RECOMMENDED.pick(r, factor=0.15)
    assert lr == pytest.approx(fastlrx.suggest.edge(*curve_args(r), factor=0.15)[0])

def test_alternatives_train_and_an_unknown_unit_names_the_registered_ones(tmp_path):
    res = fit_alternative(TASKS['wine_sgd'], 0, train_prodigy)
    assert math.isfinite(res['valid_loss']) and res['secs'] > 0 and res['lr'] == 1.0
    u = Unit('wine_sgd', 0, 'alt', 'adam')
    with pytest.raises(ValueError, match="'schedulefree'"): run_unit(u, tmp_path)
    assert not u.path(tmp_path).exists()

def test_units_resume(tmp_path):
    u = Unit('wine_sgd', 1, 'fit', 0.01)
    assert u.key == 'fit_s1_0.01' and u.path(tmp_path) == tmp_path/'wine_sgd'/'fit_s1_0.01.json'
    save_json(dict(done=True), u.path(tmp_path))
    assert run_units([u], tmp_path, procs=1, log=None) == 0
    assert Unit('wine_sgd', 0, 'alt', 'prodigy').key == 'alt_s0_prodigy'

def test_json_round_trip_keeps_non_finite_numbers(tmp_path):
    obj = dict(a=[math.inf, -math.inf, 1.0], b=dict(c=math.nan))
    save_json(obj, tmp_path/'r.json')
    json.loads((tmp_path/'r.json').read_text(), parse_constant=lambda c: pytest.fail(f'non-strict JSON {c}'))
    back = read_json(tmp_path/'r.json')
    assert back['a'] == [math.inf, -math.inf, 1.0] and math.isnan(back['b']['c'])

def test_plain_steps_skip_validation_and_stop_on_time():
    learn = TASKS['digits_cnn'].make_learner(0)
    cb = _StopAfter(7)
    with learn.no_bar(), learn.no_logging(): learn.fit(3, 1e-3, cbs=cb)
    assert cb.count == 7 and learn.recorder.values == []

def test_quick_benchmark_runs_and_prints_the_tables(tmp_path):
    "The CI smoke test: the quick run from the shell, in 2 processes; every task and contestant in the tables and the JSON"
    out, env = tmp_path/'quick.json', {**os.environ, 'PYTHONPATH': str(ROOT), 'MPLBACKEND': 'Agg'}
    r = subprocess.run([sys.executable, '-m', 'bench', '--quick', '--work', 'work', '--out', str(out), '--plot', 'quick.png'],
                       capture_output=True, text=True, timeout=1500, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = read_json(out)
    tasks = [b.name for b in bench_plan(quick=True)]
    assert list(rep['tasks']) == tasks and set(rep['environment']) >= {'cpu', 'torch', 'fastai', 'torch_lr_finder'}
    for c in CONTESTANTS:
        assert re.search(rf'^\| \**{re.escape(c)}\** \| ', r.stdout, re.M), c
        assert {row['task'] for row in rep['rows'] if row['contestant'] == c} == set(tasks), c
    assert [c['task'] for c in rep['autolr_cost']] == tasks and all(c['ratio'] > 0 for c in rep['autolr_cost'])
    assert {row['method'] for row in rep['cost']} == set(COST_METHODS)
    assert (tmp_path/'quick.png').stat().st_size > 10_000
    r2 = subprocess.run([sys.executable, '-m', 'bench', '--quick', '--work', 'work', '--out', str(out), '--no-run'],
                        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert r2.returncode == 0 and close(read_json(out)['overall'], rep['overall']), "a second run reuses every unit"

# The results that ship with fastlrx (the docs page and the README render them)

@pytest.fixture(scope='module')
def shipped(): return load_results('full')

def test_shipped_results_cover_the_issue(shipped):
    assert len(shipped['tasks']) >= 12 and shipped['mode'] == 'full'
    for t, info in shipped['tasks'].items():
        assert len(info['seeds']) >= 3, t
        assert np.diff(np.log10(info['grid'])).max() <= 0.25 + 1e-3, f"{t}: grid coarser than 4 points per decade"
    assert set(shipped['overall']) >= set(CONTESTANTS) and {r['method'] for r in shipped['cost']} == set(COST_METHODS)
    assert {'cpu', 'cores', 'torch', 'fastai', 'torch_lr_finder', 'date'} <= set(shipped['environment'])

def test_shipped_rows_follow_from_the_raw_results(shipped):
    "Every contestant's pick and regret is recomputed from the shipped curves, grids and fits by the current code (within `RTOL`)"
    again = score_all(shipped['raw'], CONTESTANTS)
    assert rows_differ(again['rows'], [r for r in shipped['rows'] if r['contestant'] != 'best_fixed_lr']) == []
    assert again['constants'] == shipped['constants']

def test_every_headline_row_is_trained_at_its_own_pick(shipped):
    "One scale: each contestant's loss is a fit at its own LR, never read off the grid"
    rows = [r for r in shipped['rows'] if r['contestant'] != 'best_fixed_lr']
    assert all(r['trained'] or not math.isfinite(r['loss_regret']) for r in rows)
    for res in shipped['raw']:
        for run in res['runs']:
            for c in ('minimum', 'valley', 'recommended', 'planned'):
                row = next(r for r in rows if (r['contestant'], r['task'], r['seed']) == (c, res['task'], run['seed']))
                if math.isfinite(row['lr']): trained_at(dict(run, task=res['task']), row['lr'])  # raises if no fit at that LR

def test_no_run_rebuilds_the_shipped_report_from_a_clone(tmp_path):
    "From what ships, `python -m bench --no-run` rebuilds every table without training (within `RTOL`); a missing unit fails by name"
    out, env = tmp_path/'full.json', {**os.environ, 'PYTHONPATH': str(ROOT), 'MPLBACKEND': 'Agg'}
    cmd = [sys.executable, '-m', 'bench', '--no-run', '--work', str(tmp_path/'work'), '--out', str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    new, old = read_json(out), load_results('full')
    assert rows_differ(new['rows'], old['rows']) == []
    for k in ('overall', 'versus_peer', 'versus', 'per_family', 'constants', 'sweep', 'autolr_cost', 'short_tests', 'read_error', 'cost', 'measured_on'):
        assert close(new[k], old[k]), k
    assert new['best_peer'] == old['best_peer'] and regret_table(new) == regret_table(old)
    next((tmp_path/'work').glob('*/fit_s0_*.json')).unlink()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
    assert r.returncode != 0 and 'missing from' in r.stderr + r.stdout, (r.stdout[-500:], r.stderr[-500:])

def test_fastlrx_ships_the_constants_fitted_on_the_whole_suite(shipped):
    c = shipped['constants']
    assert EDGE_FACTOR == c['recommended']['all_families']['factor'] == c['planned']['all_families']['factor']
    assert CONSTANT_LR == (c['planned']['all_families']['k'], c['planned']['all_families']['alpha'])

def test_readme_quotes_the_shipped_tables(shipped):
    readme = (ROOT/'README.md').read_text()
    assert regret_table(shipped) in readme and sweep_table(shipped) in readme

def test_a_probe_runs_the_fits_schedule_compressed():
    "The LR of each of a probe's steps (the search's `FitBranch`) is fastai's schedule at `step / steps`, as `fit_one_cycle` sets it; the probe stops after `steps`"
    from bench.probes import fit_scheds
    from fastlrx.search import FitBranch
    learn = TASKS['digits_cnn'].make_learner(0)
    cb = FitBranch(fit_scheds('one_cycle', 0.05), 1., 10, div=math.inf)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 0.05, cbs=cb)
    f = fit_scheds('one_cycle', 0.05)['lr']
    assert cb.step == 10 and np.allclose(learn.recorder.lrs, [float(f(i / 10)) for i in range(10)], rtol=1e-6)
    with pytest.raises(ValueError, match='fine_tune'): fit_scheds('fine_tune', 0.1)

def test_probes_rebuild_the_shipped_ones():
    "`probe` trains again what `bench/results/probes.json` ships, a probe that went NaN included (within 1e-4: other CPUs sum floats in another order)"
    from bench.probes import probe
    shipped, wants = read_json(ROOT/'bench'/'results'/'probes.json')['probes'], []
    for task, seed, lr, frac in (('wine_sgd_2ep', 0, 1.0, 0.3333), ('wine_sgd_2ep', 0, 10.0, 0.3333), ('wine_sgd_20ep', 0, 10.0, 0.3333),
                                 ('digits_mlp_2ep', 0, 0.1, 0.3333), ('cancer_sgd_bs8', 1, 0.001, 0.0833)):
        wants.append(want := next(p for p in shipped[task] if (p['seed'], p['frac']) == (seed, frac) and same_lr(p['lr'], lr)))
        got = probe(TASKS[task], seed, lr, frac)
        assert got['steps'] == want['steps'] and close(got['valid_loss'], want['valid_loss'], rtol=1e-4), (task, lr, got, want)
    assert any(math.isinf(w['valid_loss']) for w in wants) and any(w['valid_loss'] > 1e3 for w in wants), "a NaN probe and a diverged one"

def test_spearman_ranks_with_ties_and_failures():
    from bench.probes import spearman
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, math.inf], [1, 2, 3]) == pytest.approx(1.0), "a diverged probe ranks last"

def test_grid_search_brackets_minimum_by_half_decades():
    from bench.search import grid3_lrs
    assert grid3_lrs(1e-3) == [float(f"{v:.6g}") for v in (10 ** -3.5, 1e-3, 10 ** -2.5)]

def test_a_search_unit_trains_with_autolr_and_records_its_search(tmp_path):
    "One `search` unit: a real fit with `AutoLR(budget=...)`, its pick and every search recorded (here the fit is too short: the curve rule)"
    from bench.search import run_search_unit
    u = Unit('digits_mlp_2ep', 0, 'search', 0.5)
    run_search_unit(u, tmp_path)
    rec = read_json(u.path(tmp_path))
    assert rec['lr'] > 0 and math.isfinite(rec['valid_loss']) and len(rec['searches']) == 1
    s = rec['searches'][0]
    assert 'shorter than' in s['fallback'] and s['probes'] == [] and s['fit_steps'] == 10 and s['lr'] == rec['lr']

def test_search_report_rebuilds_from_what_ships(tmp_path):
    "From `bench/results/search.json`, `python -m bench.search --no-run` rebuilds the search's tables without training (within `RTOL`)"
    out, env = tmp_path/'search.json', {**os.environ, 'PYTHONPATH': str(ROOT), 'MPLBACKEND': 'Agg'}
    cmd = [sys.executable, '-m', 'bench.search', '--no-run', '--work', str(tmp_path/'full'), '--long-work', str(tmp_path/'long'), '--out', str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    new, old = read_json(out), read_json(ROOT/'bench'/'results'/'search.json')
    for part in ('suite', 'long'):
        for k in ('summary', 'versus', 'sweep', 'cost', 'prediction'): assert close(new[part][k], old[part][k]), (part, k)
    assert '## Budget sweep' in r.stdout and '# Long fits' in r.stdout

def test_readme_quotes_the_search_tables():
    search = read_json(ROOT/'bench'/'results'/'search.json')
    from bench.search import main_table, sweep_table
    readme = (ROOT/'README.md').read_text()
    assert main_table(search['long']) in readme and sweep_table(search['long']) in readme
