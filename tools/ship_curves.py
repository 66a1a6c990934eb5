"""Write `fastlrx/curves.json`: the stock `lr_find` curves of a few benchmark tasks, with each seed's grid of full fits,
so that `fastlrx.testing.recorded_curve` works from an installed package. Run from the repository root after the
benchmark's results change: `python tools/ship_curves.py` (`--check` fails if the file would change)."""
import json, sys
from pathlib import Path

TASKS = ('digits_cnn', 'tabular_cancer', 'wine_sgd', 'char_transformer')
ROOT = Path(__file__).resolve().parents[1]

def shipped_curves() -> dict:
    "`{task: {num_it, seeds: {seed: {lrs, losses, grid: [[lr, valid_loss, diverged], ...]}}}}` from the benchmark's results"
    raw = {r['task']: r for r in json.loads((ROOT/'bench'/'results'/'full.json').read_text())['raw']}
    return {t: dict(num_it=raw[t]['range_test']['num_it'],
                    seeds={str(r['seed']): dict(lrs=r['lrs'], losses=r['losses'],
                                                grid=[[g['lr'], float(g['valid_loss']), g['diverged']] for g in r['grid']])
                           for r in raw[t]['runs']}) for t in TASKS}

def text() -> str: return json.dumps(shipped_curves(), separators=(',', ':')) + '\n'

if __name__ == '__main__':
    fn = ROOT/'fastlrx'/'curves.json'
    if '--check' in sys.argv: sys.exit(0 if fn.read_text() == text() else f"{fn} is out of date: run python tools/ship_curves.py")
    fn.write_text(text())
    print(f"wrote {fn.relative_to(ROOT)} ({fn.stat().st_size // 1024} KB)")
