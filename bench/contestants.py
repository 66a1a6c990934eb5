"Who competes, and every contestant's learning rate for one task and seed: one stock `lr_find` read by fastai's and fastlrx's rules and Lightning's, plus torch-lr-finder's own range test."
from __future__ import annotations
import math, time
from fastai.callback.schedule import valley, minimum, steep, slide
from fastlrx.suggest import steepest, divergence, curvature, depth, trough, recommended, suggestion_name
from .tasks import Task
from .peers import lightning_suggestion, torch_lr_finder_run

__all__ = ['FASTAI_RULES', 'FASTLRX_RULES', 'PEERS', 'CONTESTANTS', 'RANGE_TEST', 'range_test_picks']

FASTAI_RULES = (minimum, steep, slide, valley)
FASTLRX_RULES = (steepest, divergence, curvature, depth, trough, recommended)
PEERS = ('minimum', 'steep', 'slide', 'valley', 'lightning', 'torch_lr_finder')
CONTESTANTS = PEERS + tuple(suggestion_name(f) for f in FASTLRX_RULES)
RANGE_TEST = dict(start_lr=1e-7, end_lr=10, num_it=100)

def _guarded(f):
    "`f`, giving NaN instead of raising, under the same name"
    def _inner(lrs, losses, num_it):
        try: return f(lrs, losses, num_it)
        except Exception: return math.nan, (math.nan, math.nan)
    _inner.__name__ = suggestion_name(f)
    return _inner

def range_test_picks(task:Task, seed:int=0, start_lr:float=1e-7, end_lr:float=10, num_it:int=100) -> dict:
    "Every contestant's learning rate for `task` at `seed`, the fastai curve, and how long each range test took"
    learn = task.make_learner(seed)
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        sugg = learn.lr_find(start_lr, end_lr, num_it, show_plot=False,
                             suggest_funcs=[_guarded(f) for f in FASTAI_RULES + FASTLRX_RULES])
    t1 = time.perf_counter()
    lrs, losses = [float(o) for o in learn.recorder.lrs], [float(o) for o in learn.recorder.losses]
    picks = {k: float(v) for k, v in sugg._asdict().items()}
    picks['lightning'] = lightning_suggestion(lrs, losses)
    t2 = time.perf_counter()
    picks['torch_lr_finder'] = torch_lr_finder_run(task.make_learner(seed), start_lr, end_lr, num_it)['lr']
    return dict(picks={k: picks[k] for k in CONTESTANTS}, lrs=lrs, losses=losses,
                secs=dict(lr_find=t1 - t0, torch_lr_finder=time.perf_counter() - t2))
