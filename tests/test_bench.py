"The benchmark in `bench/`: its peers behave like their libraries, its bookkeeping is right, the quick run works end to end, and the shipped results are what the docs say."
import json, math, os, re, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch
from fastai.learner import Learner
from bench.tasks import cancer_task, digits_task, log_grid, oracle_lr, good_lr_range, is_diverged, sklearn_frame
from bench.plan import BenchTask, with_budget, bench_plan
from bench.peers import lightning_suggestion, torch_optimizer, torch_lr_finder_run
from bench.contestants import PEERS, CONTESTANTS
from bench.score import relative_regret, lr_spread, summarize_task, overall, beats_peers
from bench.run import run_bench
from bench.cost import COST_METHODS, _StopAfter
from bench.store import save_json, read_json, load_results
from bench.report import regret_table, cost_table

ROOT = Path(__file__).parent.parent

def test_grid_and_oracle():
    grid = log_grid(1e-3, 1, 4)
    assert len(grid) == 13 and grid[0] == 1e-3 and grid[-1] == 1.0 and 0.0562341 in grid
    rows = [dict(lr=lr, seed=s, valid_loss=v) for lr, vs in {1e-4: (0.9, 0.9), 1e-3: (0.5, 0.6), 1e-2: (0.45, 0.5),
                                                            1e-1: (0.55, 0.6), 1.0: (math.nan, None)}.items()
            for s, v in enumerate(vs)]
    assert oracle_lr(rows) == 1e-2 and good_lr_range(rows) == (1e-3, 1e-1)
    assert is_diverged(math.inf, 1.0) and is_diverged(None, 1.0) and is_diverged(2.5, 1.0) and not is_diverged(1.5, 1.0)

def test_plan_and_budgets():
    bt = BenchTask(with_budget(digits_task, 9), 1e-4, 3.16)
    assert bt.name == 'digits_cnn_9ep' and len(bt.grid) == 19 and bt.task.desc.endswith('fit_one_cycle(9, lr)')
    assert [b.name for b in bench_plan(quick=True)] == ['digits_cnn', 'tabular_cancer', 'diabetes_reg', 'wine_sgd']
    assert all(b.per_decade >= 4 and len(b.seeds) >= 3 for b in bench_plan())
    assert 'target' in sklearn_frame('wine').columns
    with pytest.raises(ValueError, match='Unknown dataset'): sklearn_frame('nope')

def test_lightning_rule_matches_its_definition():
    "The most negative d loss / d lr (linear lr), after skipping 10 points at the start and 1 at the end"
    lrs = np.logspace(-7, 1, 100)
    loss = np.ones(100); loss[40:] = 0.5           # one step down, between lrs[39] and lrs[40]
    grad = np.gradient(loss[10:-1], lrs[10:-1])
    assert lightning_suggestion(lrs, loss) == pytest.approx(lrs[10:-1][grad.argmin()])
    assert lightning_suggestion(lrs, loss) in (lrs[39], lrs[40])
    loss[50:] = np.nan                              # non-finite losses are dropped, as Lightning does
    assert lightning_suggestion(lrs, loss) in (lrs[39], lrs[40])
    assert math.isnan(lightning_suggestion(lrs[:11], loss[:11]))

def test_torch_lr_finder_runs_on_tabular_batches_and_restores_weights():
    learn = cancer_task.make_learner(0)
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    res = torch_lr_finder_run(learn, num_it=30)
    assert 1e-7 <= res['lr'] <= 10 and len(res['lrs']) == len(res['losses']) > 0
    assert res['lrs'][0] == pytest.approx(1e-7)
    for k, v in learn.model.state_dict().items(): assert torch.equal(v, before[k]), k

def test_torch_optimizer_mirrors_fastai_defaults():
    learn = digits_task.make_learner(0)
    opt = torch_optimizer(learn, 1e-3)
    assert isinstance(opt, torch.optim.AdamW)
    g = opt.param_groups[0]
    assert (g['betas'], g['eps'], g['weight_decay']) == ((0.9, 0.99), 1e-5, 0.01)
    with pytest.raises(ValueError, match='No torch equivalent'):
        torch_optimizer(Learner(learn.dls, learn.model, loss_func=learn.loss_func, opt_func=lambda *a, **k: None), 1e-3)

def test_regret_and_spread():
    assert relative_regret(1.5, 1.0) == pytest.approx(0.5)
    assert relative_regret(math.nan, 1.0) == math.inf
    assert relative_regret(0.02, 0.0, floor=0.01) == pytest.approx(2.0)
    assert lr_spread([1e-4, 1e-2]) == pytest.approx(2.0)
    assert math.isnan(lr_spread([]))

def _toy(picks_by_seed):
    grid = [dict(lr=1e-3, valid_loss=1.0, metric=0.2), dict(lr=1e-2, valid_loss=0.5, metric=0.1)]
    runs = []
    for seed, picks in enumerate(picks_by_seed):
        fits = grid + [dict(lr=lr, valid_loss=0.5 * (1 + lr), metric=0.1) for lr in picks.values()
                       if math.isfinite(lr) and lr not in (1e-3, 1e-2)]
        runs.append(dict(seed=seed, picks=picks, grid=grid, fits=fits))
    return dict(task='toy', runs=runs)

def test_scores_summaries_and_target():
    res = _toy([dict(valley=1e-3, recommended=0.2), dict(valley=1e-2, recommended=0.4)])
    s = summarize_task(res)
    assert s['valley']['median'] == pytest.approx(0.5) and s['valley']['worst'] == pytest.approx(1.0)
    assert s['recommended']['worst'] == pytest.approx(0.4) and s['valley']['spread'] == pytest.approx(1.0)
    assert s['valley']['metric_worst'] == pytest.approx(1.0)
    o = overall([res, res])
    assert o['recommended']['median'] == pytest.approx(0.3)
    peers = {p: dict(median=1.0, worst=2.0) for p in PEERS}
    assert beats_peers(peers | dict(recommended=dict(median=0.5, worst=1.0))) == dict(median=True, worst=True)
    assert beats_peers(peers | dict(recommended=dict(median=1.0, worst=1.0))) == dict(median=False, worst=True)

def test_a_rule_without_a_pick_counts_as_infinite_regret():
    s = summarize_task(_toy([dict(valley=math.nan)]))['valley']
    assert (s['failed'], s['median'], s['worst']) == (1, math.inf, math.inf)

def test_json_round_trip_keeps_non_finite_numbers(tmp_path):
    obj = dict(a=[math.inf, -math.inf, 1.0], b=dict(c=math.nan))
    save_json(obj, tmp_path/'r.json')
    json.loads((tmp_path/'r.json').read_text(), parse_constant=lambda c: pytest.fail(f'non-strict JSON {c}'))
    back = read_json(tmp_path/'r.json')
    assert back['a'] == [math.inf, -math.inf, 1.0] and math.isnan(back['b']['c'])

def test_unknown_task_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown tasks \\['nope'\\]"): run_bench(quick=True, tasks=['nope'], work=tmp_path)

def test_plain_steps_skip_validation_and_stop_on_time():
    learn = digits_task.make_learner(0)
    cb = _StopAfter(7)
    with learn.no_bar(), learn.no_logging(): learn.fit(3, 1e-3, cbs=cb)
    assert cb.count == 7 and learn.recorder.values == []

def test_quick_benchmark_runs_and_prints_the_tables(tmp_path):
    "The CI smoke test: the quick run from the shell, every task and contestant in the tables and the JSON"
    out, env = tmp_path/'quick.json', {**os.environ, 'PYTHONPATH': str(ROOT), 'MPLBACKEND': 'Agg'}
    r = subprocess.run([sys.executable, '-m', 'bench', '--quick', '--work', 'work', '--out', str(out), '--plot', 'quick.png'],
                       capture_output=True, text=True, timeout=1200, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = read_json(out)
    tasks = [b.name for b in bench_plan(quick=True)]
    assert list(rep['summary']) == tasks and set(rep['environment']) >= {'cpu', 'torch', 'fastai', 'torch_lr_finder'}
    for c in CONTESTANTS:
        assert re.search(rf'^\| \**{c}\** \| ', r.stdout, re.M), c
        assert all(c in s for s in rep['summary'].values())
    for t in tasks: assert f'### {t}:' in r.stdout
    assert {row['method'] for row in rep['cost']} == set(COST_METHODS)
    assert all(row['bytes_written'] == 0 for row in rep['cost'] if row['method'].startswith('lr_find_plus'))
    assert (tmp_path/'quick.png').stat().st_size > 10_000
    # a second run reuses the per-task results instead of training again
    r2 = subprocess.run([sys.executable, '-m', 'bench', '--quick', '--work', 'work', '--out', str(out), '--no-quality'],
                        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert r2.returncode == 0 and read_json(out)['summary'] == rep['summary']

# The results that ship with fastlrx (the docs page and the README render them)

@pytest.fixture(scope='module')
def shipped(): return load_results('full')

def test_shipped_results_cover_the_issue(shipped):
    tasks = shipped['tasks']
    bases = {re.sub(r'_\d+ep$', '', t) for t in tasks}
    assert len(bases) >= 5 and len(tasks) > len(bases), "five real tasks, one of them at several budgets"
    for t, info in tasks.items():
        assert len(info['seeds']) >= 3, t
        steps = np.diff(np.log10(info['grid']))
        assert steps.max() <= 0.25 + 1e-3, f"{t}: grid coarser than 4 points per decade"
    assert set(shipped['contestants']) == set(CONTESTANTS) and set(shipped['peers']) == set(PEERS)
    assert {r['method'] for r in shipped['cost']} == set(COST_METHODS)
    assert {'cpu', 'cores', 'torch', 'fastai', 'torch_lr_finder', 'date'} <= set(shipped['environment'])

def test_shipped_summaries_follow_from_the_raw_rows(shipped):
    "Tables and target are recomputed from the raw rows by the current scoring code"
    assert {r['task']: summarize_task(r) for r in shipped['raw']} == shipped['summary']
    assert overall(shipped['raw']) == shipped['overall']
    assert beats_peers(shipped['overall']) == shipped['beats_peers']

def test_unknown_results_name_is_a_clear_error():
    with pytest.raises(ValueError, match='No benchmark results named'): load_results('nope')

def test_readme_quotes_the_shipped_overall_table(shipped):
    readme = (ROOT/'README.md').read_text()
    assert regret_table(shipped['overall'], 'median_spread') in readme
    assert cost_table([r for r in shipped['cost'] if r['width'] == 128]) in readme
