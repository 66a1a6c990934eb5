"""Rules kept for history: fastlrx 0.1's default, `ensemble(steepest, depth, trough)`, tuned on the five tasks of that
release. On tasks it had not seen it lost to fastai's `minimum`; the benchmark keeps it as the contestant
`recommended_v0.1`. `depth` and `trough` were fastlrx's until the library dropped them; they live on here unchanged.

`depth` asks how much of the valley the loss has crossed: it returns the first learning rate at which the smoothed
loss has made `frac` (60%) of its whole drop, from the highest point before the floor down to the floor. Because it
reads levels rather than slopes, it does not care whether the descent is short and sharp (training from scratch) or
long and shallow (fine-tuning, tabular models).

`trough` is fastai's `minimum` done on the smoothed curve: one tenth (`div`) of the learning rate at the valley
floor. fastai's version takes the lowest recorded point, so a single noisy dip can move it.

They are built from the same parts as the library's rules (`fastlrx.suggest`'s `analyse_curve`, `descent_end` and
`suggestion_at`)."""
from __future__ import annotations
import numpy as np
from fastlrx.suggest import steepest, ensemble, analyse_curve, descent_end, suggestion_at

__all__ = ['depth', 'trough', 'recommended_v01']

def depth(lrs, losses, num_it:int=100, frac:float=0.6):
    "The first LR at which the smoothed loss has made `frac` of its drop to the valley floor"
    lrs, losses, x, s, _, _ = analyse_curve(lrs, losses)
    end = descent_end(s)
    top = int(np.argmax(s[:end + 1]))
    target = s[top] - frac * (s[top] - s[end])
    i = top + int(np.argmax(s[top:end + 1] <= target))
    return suggestion_at(lrs[i], lrs, losses)

def trough(lrs, losses, num_it:int=100, div:float=10.):
    "The LR at the smoothed curve's lowest point, divided by `div`"
    lrs, losses, x, s, _, _ = analyse_curve(lrs, losses)
    return suggestion_at(lrs[descent_end(s)] / div, lrs, losses)

recommended_v01 = ensemble(steepest, depth, trough, name='recommended_v01')
"fastlrx 0.1's default: tuned on the five tasks of that release"
