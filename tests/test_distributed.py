"fastlrx under fastai's DDP: 2 CPU processes (gloo) launched with torchrun run `ddp_script.py`; each rank reports what it saw."
import json, os, subprocess, sys, time
from pathlib import Path
import pytest

pytest.importorskip('accelerate')
dist = pytest.importorskip('torch.distributed')
if not dist.is_available() or not dist.is_gloo_available(): pytest.skip('torch has no gloo backend', allow_module_level=True)

root = Path(__file__).parent.parent
TIMEOUT = 10     # the process group's timeout in the launched script, in seconds
LIMIT = 240      # the launch's own limit: well above TIMEOUT, so a hang fails the test instead of stalling CI

def launch(scenario, out):
    "Run `scenario` on 2 processes; return each rank's record and the seconds the launch took"
    env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', FASTLRX_DDP_TIMEOUT=str(TIMEOUT),
               PYTHONPATH=os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')]))
    t0 = time.time()
    p = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(root/'tests'/'ddp_script.py'), scenario, str(out)], env=env, capture_output=True, text=True, timeout=LIMIT)
    secs = time.time() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    recs = [json.loads((out/f'{scenario}-rank{r}.json').read_text()) for r in (0, 1)]
    for r in recs: assert 'crash' not in r, r.get('traceback')
    return recs, secs

@pytest.fixture(scope='module')
def plus(tmp_path_factory): return launch('plus', tmp_path_factory.mktemp('ddp'))[0]

@pytest.mark.parametrize('name', ['basic', 'runs', 'diverge', 'val', 'nan'])
def test_one_curve_one_pick_exact_restore(plus, name):
    r0, r1 = plus[0][name], plus[1][name]
    assert r0['picks'] == r1['picks']                    # bit-identical floats
    assert r0['runs'] == r1['runs'] and r0['curve'] == r1['curve']  # same curves, same stop step and reason
    assert r0['restore_diff'] == r1['restore_diff'] == []  # each rank is back to its own state

def test_what_each_run_did(plus):
    p = plus[0]
    assert p['basic']['runs'][0]['points'] == 50         # epochs counted on the sharded loader: no 'out of data'
    assert len(p['runs']['runs']) == 2 and plus[1]['runs']['boot_picks'] == p['runs']['boot_picks']
    assert p['diverge']['runs'][0]['stop'] == 'diverged' and p['diverge']['runs'][0]['points'] < 50
    assert p['nan']['runs'][0]['stop'] == 'nan' and p['nan']['runs'][0]['points'] == 16  # NaN on rank 1 only

@pytest.mark.parametrize('name', ['lr_search', 'autolr_search'])
def test_the_search_agrees_across_ranks(plus, name):
    "Every rank scores the same branches on the all-reduced validation loss, picks the same LR and, for `lr_search`, is restored exactly"
    a, b = plus[0][name], plus[1][name]
    assert a == b
    assert a['fallback'] is None and 3 <= len(a['probes']) <= 7
    if name == 'lr_search': assert a['restore_diff'] == []

def test_autolr_and_milestones_agree(plus):
    for k in ('autolr', 'milestones'): assert plus[0][k] == plus[1][k]
    assert plus[0]['autolr']['stop'] == 'num_it' and plus[0]['milestones']['epochs'] == [1]

@pytest.mark.parametrize('stay', [False, True])
def test_an_error_on_one_rank_ends_all(tmp_path, stay):
    (r0, r1), secs = launch('error_stay' if stay else 'error_exit', tmp_path)
    assert r1['error'] == 'RuntimeError: from the forward pass'
    assert 'rank 0 of 2' in r0['error'] and 'collective operation failed' in r0['error']
    assert r0['restore_diff'] == r1['restore_diff'] == []
    assert r0['seconds'] < TIMEOUT + 15                 # bounded by the process group's timeout, or less
    if stay: assert r0['seconds'] > TIMEOUT - 1 and 'Timed out' in r0['error']

def test_stock_lr_find_is_recorded(tmp_path):
    "fastai's own `lr_find` under the same launch: recorded for the docs, whatever it does"
    (r0, r1), _ = launch('stock', tmp_path)
    for r in (r0, r1): assert {'points', 'stop_step', 'restore_diff', 'error'} <= set(r)
    print(json.dumps([r0, r1], indent=1))
