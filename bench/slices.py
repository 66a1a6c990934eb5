"""Discriminative learning rates on the real pets sample: fastai's `fine_tune` ratio 100 against 10 and 1000, and
`lr_find_slice`'s pick of the top LR and the ratio. Run from the repository root:

    FASTLRX_PETS=... python -m bench.slices [--seeds 0 1 2] [--size 128] [--bs 32] [--num-it 50] [--out bench/results/slices.json]

For each seed it runs fastai's `fine_tune` frozen phase once (`freeze(); fit_one_cycle(1, slice(2e-3), pct_start=0.99)`),
keeps it in a `StateSnapshot`, and from there trains the unfrozen phase of each arm,
`fit_one_cycle(2, slice(top/ratio, top), pct_start=0.3, div=5.0)`, from the same weights, optimizer state and batches.
`lr_find_slice` reads its curves with `planned` for the unfrozen fit. It prints a markdown table and writes the raw
numbers as JSON to `--out`. With the defaults it takes about 20 minutes on an idle 2-core CPU with one torch thread,
the range tests most of it. At 64 pixels the range test's loss on this sample does not fall at any ratio, so there is
nothing to read."""
from __future__ import annotations
import argparse, math, statistics, tempfile, time
from pathlib import Path
import torch
from fastai.torch_core import set_seed
from fastlrx.all import *  # `Learner.lr_find_slice`, `StateSnapshot`
from .tasks import pets_learner
from .store import save_json, environment

__all__ = ['BASE_LR', 'FASTAI_RATIOS', 'frozen_phase', 'unfrozen_phase', 'run_seed', 'table', 'main']

BASE_LR = 2e-3                 # `fine_tune`'s default `base_lr`; it halves it for the unfrozen phase
FASTAI_RATIOS = (10, 100, 1000)  # `lr_mult=100` is fastai's; 10 and 1000 are its neighbours

def frozen_phase(seed:int, size:int, bs:int):
    "A fresh pets `Learner` after `fine_tune`'s frozen epoch, unfrozen, as `fine_tune` leaves it before its second fit"
    set_seed(seed, reproducible=True)
    learn = pets_learner(seed, size=size, bs=bs)
    learn.path = Path(tempfile.gettempdir())/'fastlrx'
    learn.freeze()
    learn.fit_one_cycle(1, slice(BASE_LR), pct_start=0.99)
    learn.unfreeze()
    return learn

def unfrozen_phase(learn, snap, top:float, ratio:float, epochs:int=2) -> dict:
    "Put `snap` back, train `fine_tune`'s unfrozen phase at `slice(top/ratio, top)`, and validate"
    snap.restore()
    start = time.perf_counter()
    learn.fit_one_cycle(epochs, slice(top / ratio, top), pct_start=0.3, div=5.0)
    loss, err = map(float, learn.validate())
    return dict(top=top, ratio=ratio, valid_loss=loss if math.isfinite(loss) else math.inf, error_rate=err,
                secs=time.perf_counter() - start)

def run_seed(seed:int, size:int=128, bs:int=32, num_it:int=50, epochs:int=2, log=print) -> dict:
    "Every arm of one seed, from one frozen phase"
    t = time.perf_counter()
    learn = frozen_phase(seed, size, bs)
    with learn.no_bar(), learn.no_logging():
        frozen = dict(zip(('valid_loss', 'error_rate'), map(float, learn.validate())), secs=time.perf_counter() - t)
        snap = StateSnapshot(learn)
        t = time.perf_counter()
        res = learn.lr_find_slice(num_it=num_it, suggest_func=planned(epochs, len(learn.dls.train)), show_plot=False)
        secs = time.perf_counter() - t
        found = dict(top=res.top, ratio=res.ratio, secs=secs, start=res.start, tol=res.tol,
                     picks={f'{r:g}': v for r, v in res.picks.items()}, lowest={f'{r:g}': v for r, v in res.lowest.items()},
                     stops={f'{r:g}': r_.runs[0].stop for r, r_ in res.results.items()},
                     points={f'{r:g}': len(r_.runs[0].lrs) for r, r_ in res.results.items()})
        log(f'seed {seed}: frozen phase {frozen["error_rate"]:.3f} error; lr_find_slice {secs:.0f}s -> top {res.top:.2e}, '
            f'ratio {res.ratio:g}; lowest ' + ', '.join(f'{r:g}: {v:.4f}' for r, v in res.lowest.items()))
        top = BASE_LR / 2
        arms = {f'fastai top, ratio {r}': unfrozen_phase(learn, snap, top, r, epochs) for r in FASTAI_RATIOS}
        arms['lr_find_slice (top and ratio)'] = unfrozen_phase(learn, snap, res.top, res.ratio, epochs)
        same = res.ratio == 100
        arms['lr_find_slice top, ratio 100'] = (dict(arms['lr_find_slice (top and ratio)'], same_as='lr_find_slice (top and ratio)')
                                                if same else unfrozen_phase(learn, snap, res.top, 100, epochs))
    for k, a in arms.items(): log(f'  {k}: top {a["top"]:.2e} ratio {a["ratio"]:g} -> loss {a["valid_loss"]:.4f}, error {a["error_rate"]:.3f}')
    return dict(seed=seed, frozen=frozen, lr_find_slice=found, arms=arms)

def _med(v): return statistics.median(v)

def table(seeds:list) -> str:
    "The markdown tables: each arm's final validation loss and error rate, then what `lr_find_slice` saw"
    arms = list(seeds[0]['arms'])
    head = '| unfrozen phase | ' + ' | '.join(f'seed {s["seed"]}: loss / error' for s in seeds) + ' | median loss | median error |'
    rows = [head, '|' + '---|' * (len(seeds) + 3)]
    for a in arms:
        per = [s['arms'][a] for s in seeds]
        cells = [f'{p["valid_loss"]:.4f} / {p["error_rate"]:.3f} (slice({p["top"]/p["ratio"]:.1e}, {p["top"]:.1e}))' for p in per]
        rows.append(f'| {a} | ' + ' | '.join(cells) + f' | {_med([p["valid_loss"] for p in per]):.4f} | '
                    f'{_med([p["error_rate"] for p in per]):.3f} |')
    ratios = list(seeds[0]['lr_find_slice']['lowest'])
    rows += ['', '| lr_find_slice | seconds | stops | ' + ' | '.join(f'ratio {r}: pick, lowest (gap, % of drop)' for r in ratios) + ' | chosen |',
             '|' + '---|' * (len(ratios) + 4)]
    for s in seeds:
        f = s['lr_find_slice']
        best = min(v for v in f['lowest'].values() if math.isfinite(v))
        drop = f['start'] - best
        def cell(r): return f'{f["picks"][r]:.1e}, {f["lowest"][r]:.4f} ({100 * (f["lowest"][r] - best) / drop:.0f}%)'
        stops = ', '.join(f'{f["points"][r]} {f["stops"][r]}' for r in ratios)
        rows.append(f'| seed {s["seed"]} | {f["secs"]:.0f} | {stops} | ' + ' | '.join(cell(r) for r in ratios)
                    + f' | {f["top"]:.2e}, ratio {f["ratio"]:g} |')
    return '\n'.join(rows)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--size', type=int, default=128, help='image size (aug_transforms); Resize is 5/4 of it')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--num-it', type=int, default=50, help="steps of each of lr_find_slice's range tests")
    p.add_argument('--epochs', type=int, default=2, help='epochs of the unfrozen phase')
    p.add_argument('--threads', type=int, default=1, help='torch threads')
    p.add_argument('--out', type=Path, default=None, help='write the results as JSON here')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    seeds = [run_seed(s, a.size, a.bs, a.num_it, a.epochs) for s in a.seeds]
    tab = table(seeds)
    print(tab)
    settings = dict(size=a.size, bs=a.bs, num_it=a.num_it, epochs=a.epochs, base_lr=BASE_LR, fastai_ratios=FASTAI_RATIOS,
                    ratios_tried=list(seeds[0]['lr_find_slice']['lowest']), total_secs=time.perf_counter() - start,
                    task="Oxford-IIIT Pets sample (296 train / 74 valid, 37 breeds), ImageNet-pretrained timm efficientnet_lite0 "
                         f"+ fastai head (2 parameter groups), Resize({a.size * 5 // 4}) + aug_transforms(size={a.size}, "
                         f"min_scale=0.75), bs {a.bs}, Adam; fine_tune's frozen epoch, then fit_one_cycle({a.epochs}, "
                         "slice(top/ratio, top), pct_start=0.3, div=5.0)")
    print(f'\n{len(seeds)} seeds in {settings["total_secs"]:.0f}s')
    if a.out: save_json(dict(settings=settings, environment=environment(), seeds=seeds, table=tab), a.out)

if __name__ == '__main__': main()
