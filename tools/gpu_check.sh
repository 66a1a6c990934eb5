#!/usr/bin/env bash
# The full-state fingerprint on a GPU: every case of tests/test_restore.py with the model and data on CUDA, to_fp16
# and to_bf16 included, interrupted cases too; then what a failed range test leaves of autocast, fastlrx's against
# fastai's; then the DDP script on the GPU. Run from the project's root on a machine with a GPU, fastai and
# Accelerate; writes its logs into the folder $1.
set -uo pipefail
out=${1:-gpu_check}; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, fastai; print('torch', torch.__version__, 'fastai', fastai.__version__)" | tee -a "$out/gpu.txt"
FASTLRX_TEST_DEVICE=cuda MPLBACKEND=Agg python3 -m pytest -q -p no:cacheprovider -rA tests/test_restore.py 2>&1 | tee "$out/restore_cuda.log"
MPLBACKEND=Agg python3 - <<'PY' 2>&1 | tee "$out/autocast_leak.log"
import warnings, torch
warnings.simplefilter('ignore')
from fastlrx.all import *
from fastlrx.testing import digits_learner, FailAfter
for name, find in [('fastlrx lr_find_plus', lambda l: l.lr_find_plus(num_it=30, show_plot=False)),
                   ('fastai lr_find', lambda l: l.lr_find(num_it=30, show_plot=False))]:
    for precision in ('to_fp16', 'to_bf16'):
        for exc in (RuntimeError, KeyboardInterrupt):
            learn = getattr(digits_learner(), precision)()
            learn.model.cuda(); learn.dls.to('cuda')
            learn.model = FailAfter(learn.model, 5, exc)
            try:
                with learn.no_bar(): find(learn)
            except (RuntimeError, KeyboardInterrupt): pass
            print(f"{name:22} {precision} {exc.__name__:17} autocast('cuda') left on: {torch.is_autocast_enabled('cuda')}")
            while torch.is_autocast_enabled('cuda'):  # clean up after fastai before the next case
                torch.set_autocast_enabled('cuda', False); torch.autocast_decrement_nesting(); torch.clear_autocast_cache()
PY
# DDP on the GPU: two ranks (gloo; they may share one GPU) with to_fp16(), then one rank failing.
for s in plus error_exit; do
  FASTLRX_DDP_DEVICE=cuda FASTLRX_DDP_TIMEOUT=60 MPLBACKEND=Agg OMP_NUM_THREADS=1 \
    python3 -m torch.distributed.run --standalone --nproc_per_node 2 tests/ddp_script.py $s "$out" > "$out/ddp_$s.log" 2>&1
done
python3 - "$out" <<'PY' 2>&1 | tee "$out/ddp_cuda.log"
import json, sys
out = sys.argv[1]
a, b = [json.load(open(f'{out}/plus-rank{r}.json')) for r in (0, 1)]
print('every record identical on both ranks:', all(a[k] == b[k] for k in a if k != 'rank'))
print('restored exactly on both ranks:', all(r[k]['restore_diff'] == [] for r in (a, b) for k in ('basic', 'runs', 'diverge', 'val', 'nan')))
for r in (0, 1): print(f'one rank fails, rank {r}:', json.load(open(f'{out}/error_exit-rank{r}.json')))
PY
