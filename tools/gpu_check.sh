#!/usr/bin/env bash
# The full-state fingerprint on a GPU: every case of tests/test_restore.py with the model and data on CUDA, to_fp16
# and to_bf16 included, interrupted cases too; then what a failed range test leaves of autocast, fastlrx's against
# fastai's. Run from the project's root on a machine with a GPU and fastai; writes its logs into the folder $1.
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
