"Every docs page's first example runs when a reader copies it into a fresh Python session: its imports are visible."
import json, os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).parents[1]
PAGES = sorted(p for p in (ROOT/'nbs').glob('[0-9][0-9]*_*.ipynb') if re.match(r'\d\d[a-z]?_', p.name)) + [ROOT/'nbs'/'index.ipynb']

def first_example(nb:Path) -> str:
    "The source of the first code cell a reader sees (not hidden, not exported, no other directive); the index's first Python block"
    cells = json.loads(nb.read_text())['cells']
    if nb.name == 'index.ipynb':
        m = re.search(r'```python\n(.*?)```', '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'), re.S)
        return m.group(1) if m else ''
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and not re.match(r'\s*#\|', src): return src
    return ''

@pytest.mark.parametrize('nb', PAGES, ids=lambda p: p.stem)
def test_first_example_runs_in_a_fresh_session(nb, tmp_path):
    src = first_example(nb)
    assert src, f"{nb.name} has no example"
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONPATH': str(ROOT)}
    r = subprocess.run([sys.executable, '-c', src], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{nb.name}'s first example fails when copied:\n{src}\n{r.stderr[-2000:]}"
