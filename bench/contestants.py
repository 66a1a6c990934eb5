"Who competes: the range-test rules read off one stock `lr_find` curve, torch-lr-finder's own test, fastai's default LRs, the alternative optimizers and `AutoLR`."
from __future__ import annotations
import math, warnings
import torch
from fastai.callback.schedule import valley, minimum, steep, slide
from fastlrx.suggest import steepest, depth, trough, ensemble, lr_find_trim
from .peers import lightning_suggestion
from .alternatives import ALTERNATIVES as OPTIMIZERS

__all__ = ['FASTAI_RULES', 'PEERS', 'ALTERNATIVES', 'FASTLRX', 'CONTESTANTS', 'recommended_v01', 'curve_args', 'rule_pick', 'lightning_pick']

FASTAI_RULES = dict(minimum=minimum, steep=steep, slide=slide, valley=valley)
PEERS = (*FASTAI_RULES, 'lightning', 'torch_lr_finder')
ALTERNATIVES = ('fastai_default', *OPTIMIZERS)
FASTLRX = ('recommended_v0.1', 'recommended', 'planned', 'AutoLR')
CONTESTANTS = PEERS + ALTERNATIVES + FASTLRX

recommended_v01 = ensemble(steepest, depth, trough, name='recommended_v01')
"fastlrx 0.1's default: tuned on the five tasks of that release"

def curve_args(curve:dict) -> tuple:
    "`(lrs, losses, num_it)` as stock `lr_find` passes them to a suggestion function: the recorded curve without its first tenth and last 5 points"
    lrs, losses = lr_find_trim(curve['lrs'], curve['losses'], curve['num_it'])
    return torch.tensor(lrs), torch.tensor(losses), curve['num_it']

def rule_pick(func, curve:dict) -> float:
    "The learning rate `func` suggests on `curve` (NaN when it fails, as `lr_find` would have raised)"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: lr = float(func(*curve_args(curve))[0])
        except Exception: return math.nan
    return lr if math.isfinite(lr) and lr > 0 else math.nan

def lightning_pick(curve:dict) -> float:
    "Lightning's rule on the whole recorded curve"
    return lightning_suggestion(curve['lrs'], curve['losses'])
