"""Regenerate the README's demo numbers and picture from one run of the demo.

    python tools/demo_readme.py          # runs the demo (about a minute), writes the picture, its numbers, the README
    python tools/demo_readme.py --check  # the paragraph in nbs/index.ipynb matches the shipped numbers (no training)

The demo's range test and trained rows go to `nbs/images/fastlrx_demo.json`, its plot to `nbs/images/fastlrx_demo.png`,
and the paragraph between `<!-- demo -->` and `<!-- /demo -->` in `nbs/index.ipynb` is rewritten from them; README.md is
then rendered from the notebook. `tests/test_docs.py` recomputes every pick from the shipped curve with the current code.
"""
from __future__ import annotations
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT/'nbs'/'images'
NUMBERS, PICTURE, INDEX = IMAGES/'fastlrx_demo.json', IMAGES/'fastlrx_demo.png', ROOT/'nbs'/'index.ipynb'
MARKED = re.compile(r'(<!-- demo -->\n)(.*?)(\n<!-- /demo -->)', re.S)

def paragraph(numbers:dict) -> str:
    "The README's sentence about the demo, from the demo's rows"
    rows = {r['name']: r for r in numbers['rows']}
    v, r = rows['valley'], rows['recommended']
    best = min(numbers['rows'], key=lambda o: o['valid_loss'])
    return (f"On a small CNN trained from scratch on sklearn's digits with `fit_one_cycle({numbers['epochs']})`, fastai's default "
            f"`valley` suggests {v['lr']:.2g} and ends at a validation loss of {v['valid_loss']:.3f}; fastlrx's `recommended` "
            f"picks {r['lr']:.2g} and ends at {r['valid_loss']:.3f}. On this one seed the lowest loss comes from `{best['name']}` "
            f"({best['lr']:.2g}, {best['valid_loss']:.3f}). One seed proves little: the benchmark below compares the rules "
            f"over 19 tasks, with intervals. `fastlrx-demo` prints this table and draws this picture:")

def regenerate():
    "Run the demo, write its numbers and picture, rewrite the paragraph and the README"
    import matplotlib; matplotlib.use('Agg')
    from fastlrx.demo import run_demo
    sys.path.insert(0, str(ROOT/'tools'))
    from docs import render_readme
    seed, num_it, epochs = 0, 100, 3
    rows, res = run_demo(seed, num_it, epochs, train=True, plot=str(PICTURE), bar=False, result=True)
    NUMBERS.write_text(json.dumps(dict(seed=seed, num_it=num_it, epochs=epochs, lrs=[float(o) for o in res.lrs],
                                       losses=[float(o) for o in res.losses], rows=rows), indent=1) + '\n')
    write_paragraph(json.loads(NUMBERS.read_text()))
    render_readme()

def write_paragraph(numbers:dict, check:bool=False) -> bool:
    "Put `paragraph(numbers)` between the markers of nbs/index.ipynb (with `check`, only compare); True if it was there"
    nb = json.loads(INDEX.read_text(encoding='utf-8'))
    for c in nb['cells']:
        src = ''.join(c['source'])
        if not MARKED.search(src): continue
        new = MARKED.sub(lambda m: m[1] + paragraph(numbers) + m[3], src)
        if check or new == src: return new == src
        c['source'] = new.splitlines(keepends=True)
        INDEX.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        return False
    raise ValueError(f"{INDEX} has no paragraph between <!-- demo --> and <!-- /demo -->")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='only check that the paragraph matches the shipped numbers')
    if ap.parse_args().check: sys.exit(0 if write_paragraph(json.loads(NUMBERS.read_text()), check=True) else 1)
    regenerate()
