"""What one LR range test costs: fastai's `lr_find` against fastlrx's `lr_find_plus` on the same digits Learner.

Each measurement runs in a fresh process, so that peak RAM (`ru_maxrss`) is not polluted by the other method. The
Learner is built, trained for a few batches (so the optimizer has state to save), and then runs one test of
`--num-it` steps with `stop_div=False` (both run every step) and fastai's `valley`. We report:

- wall time of the call;
- files and bytes written: every `torch.save` (how fastai's `Learner.save` writes) is intercepted and the size of the
  file it wrote recorded, and we count what is left under `learn.path` and the temporary folder afterwards;
- peak RAM added by the call: `ru_maxrss` after the call minus before it.

    python tools/finder_cost.py --widths 16,128 --repeats 3
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

def child(method, width, num_it):
    import torch
    torch.set_num_threads(1)
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from fastai.torch_core import set_seed
    from fastai.callback.progress import ProgressCallback
    from fastai.callback.training import ShortEpochCallback
    from fastai.callback.schedule import valley
    from fastlrx.data import digits_dls, digits_cnn
    import fastlrx.finder  # noqa: F401  (adds Learner.lr_find_plus)

    root = Path(tempfile.mkdtemp(prefix='finder_cost_'))
    tempfile.tempdir = str(root/'tmp'); (root/'tmp').mkdir()
    set_seed(0)
    learn = Learner(digits_dls(), digits_cnn(width), loss_func=CrossEntropyLossFlat(), path=root/'learn')
    learn.remove_cb(ProgressCallback)
    learn.fit(1, 1e-3, cbs=ShortEpochCallback(0.2))
    saved = []
    _save = torch.save
    def save(obj, f, *args, **kwargs):
        _save(obj, f, *args, **kwargs)
        if isinstance(f, (str, os.PathLike)): saved.append(os.path.getsize(f))
    torch.save = save
    n_params = sum(p.numel() for p in learn.model.parameters())
    rss0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    if method == 'lr_find': learn.lr_find(num_it=num_it, stop_div=False, show_plot=False, suggest_funcs=valley)
    else: learn.lr_find_plus(num_it=num_it, stop_div=False, show_plot=False, suggest_funcs=valley)
    t1, rss1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    left = [f for f in root.rglob('*') if f.is_file()]
    print(json.dumps(dict(method=method, width=width, params=n_params, wall_s=t1 - t0, files_saved=len(saved),
                          bytes_saved=sum(saved), files_left=len(left),
                          dirs_left=sum(1 for f in (root/'learn').rglob('*') if f.is_dir()),
                          peak_rss_added_mb=(rss1 - rss0) / 1024)))
    shutil.rmtree(root)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--widths', default='16,128', help='digits_cnn widths, comma-separated')
    ap.add_argument('--num-it', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3, help='processes per method and width; the median is shown')
    ap.add_argument('--child', nargs=2, metavar=('METHOD', 'WIDTH'), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(a.child[0], int(a.child[1]), a.num_it)
    rows = []
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    for w in a.widths.split(','):
        for m in ('lr_find', 'lr_find_plus'):
            runs = []
            for _ in range(a.repeats):
                out = subprocess.run([sys.executable, __file__, '--child', m, w, '--num-it', str(a.num_it)],
                                     capture_output=True, text=True, env=env, check=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            med = {k: statistics.median(r[k] for r in runs) for k in ('wall_s', 'bytes_saved', 'peak_rss_added_mb')}
            rows.append({**runs[0], **med})
    head = f"{'method':<13}{'width':>6}{'params':>10}{'wall s':>9}{'files saved':>12}{'bytes saved':>13}{'left':>6}{'peak RSS +MB':>14}"
    print(f"num_it={a.num_it}, median of {a.repeats} process(es) each\n{head}")
    for r in rows:
        print(f"{r['method']:<13}{r['width']:>6}{r['params']:>10}{r['wall_s']:>9.2f}{r['files_saved']:>12}"
              f"{int(r['bytes_saved']):>13}{r['files_left'] + r['dirs_left']:>6}{r['peak_rss_added_mb']:>14.1f}")

if __name__ == '__main__': main()
