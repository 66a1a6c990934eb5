"The package's layout: imports between modules run only downward (by notebook number), form no circle, and take no underscore names."
import ast, re
from pathlib import Path

PKG = Path(__file__).parents[1]/'fastlrx'

def _modules() -> dict:
    "`{module: notebook prefix}` from each exported module's header"
    out = {}
    for f in PKG.glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\w+?)_[\w.]+\.ipynb', f.read_text())
        if m: out[f.stem] = m.group(1)
    return out

def _imports(mod:str) -> list:
    "`(module, names)` of each relative import of `mod`, at any depth"
    tree = ast.parse((PKG/f'{mod}.py').read_text())
    return [(n.module or '', [a.name for a in n.names]) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1]

def test_every_module_comes_from_a_notebook():
    mods = _modules()
    assert {'suggest', 'snapshot', 'result', 'finder', 'groups', 'search', 'autolr', 'all'} <= set(mods)

def test_imports_run_downward_and_take_no_underscore_names():
    mods, bad = _modules(), []
    for mod, num in mods.items():
        for src, names in _imports(mod):
            targets = [src] if src else names  # `from . import a, b` imports modules
            for t in targets:
                if t in mods and not mods[t] < num: bad.append(f"{mod} ({num}) imports {t} ({mods[t]}): not a lower notebook")
            if src: bad += [f"{mod} imports {src}.{n}: an underscore name" for n in names if n.startswith('_')]
    assert not bad, '\n'.join(bad)

def test_the_check_catches_an_upward_import(tmp_path):
    "The rule is able to fail: a module of a lower number importing a higher one is reported"
    mods = _modules()
    assert mods['finder'] < mods['search'] < mods['autolr']
    assert not mods['autolr'] < mods['finder']

def test_the_package_reads_no_file_of_the_repository(tmp_path):
    "A copy of `fastlrx/` alone (as `pip install` makes it) gives the recorded curves: they ship inside the package"
    import shutil, subprocess, sys
    shutil.copytree(PKG, tmp_path/'fastlrx')
    code = "from fastlrx.testing import recorded_curve; lrs, losses, n, good = recorded_curve('digits_cnn', 1); print(len(lrs), n)"
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, env={'PATH': '', 'PYTHONPATH': str(tmp_path)})
    assert r.returncode == 0 and r.stdout.split() == ['85', '100'], r.stderr[-2000:]

def test_shipped_curves_follow_the_benchmark():
    import subprocess, sys
    r = subprocess.run([sys.executable, str(PKG.parent/'tools'/'ship_curves.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout

def test_setup_ships_the_curves():
    assert "package_data={cfg['lib_name']: ['curves.json']}" in (PKG.parent/'setup.py').read_text()
