"""Print, for every recorded fixture curve, each suggestion function's pick, whether it lies in the range that
trains well, and its regret against the grid oracle. Usage: python tools/fixture_table.py"""
import warnings
import numpy as np
from fastai.callback.schedule import valley, steep, slide, minimum
from fastlrx.suggest import *
from fastlrx.suggest import suggestion_name

FUNCS = (valley, steep, slide, minimum, steepest, divergence, curvature, depth, trough, recommended)

def main():
    warnings.filterwarnings('ignore')
    names = [suggestion_name(f) for f in FUNCS]
    for task in FIXTURES:
        d = load_curves(task)
        lo, hi = d['good_range']
        print(f"\n{task}: trains well in [{lo:.3g}, {hi:.3g}] (median loss within {1+d['tol']:.2f}x of the grid's best), oracle {d['oracle_lr']:.3g}")
        print(f"{'run':>3} " + ' '.join(f'{n:>12}' for n in names))
        hits = np.zeros(len(FUNCS))
        for run in range(len(d['curves'])):
            lrs, losses, num_it, _ = fixture_curve(task, run)
            picks = [f(lrs, losses, num_it)[0] for f in FUNCS]
            ok = [lo * 0.999 <= p <= hi * 1.001 for p in picks]
            hits += ok
            print(f"{run:>3} " + ' '.join(f"{p:>10.2g} {'Y' if o else '.'}" for p, o in zip(picks, ok)))
        print('hit ' + ' '.join(f"{int(h):>10d}/{len(d['curves'])}" for h in hits))

if __name__ == '__main__': main()
