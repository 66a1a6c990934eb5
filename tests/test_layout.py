"The package's layout: imports between modules run only downward (by notebook number), form no circle, and take no underscore names."
import ast, importlib, re
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

PICKLED = {'FinderRun', 'finder_result'}  # saved results unpickle through these names, so they keep them

def _outside_api(mod:str) -> list:
    "Top-level names of `mod` with no underscore that are not in its `__all__` (methods patched onto fastai classes aside)"
    tree, names = ast.parse((PKG/f'{mod}.py').read_text()), []
    api = getattr(importlib.import_module(f'fastlrx.{mod}'), '__all__', [])
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            if not any('patch' in ast.unparse(d) for d in n.decorator_list): names.append(n.name)
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                names += [e.id for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name)]
    return [n for n in names if not n.startswith('_') and n not in api]

def _imported_names() -> set:
    "`(module, name)` that another fastlrx module or `bench/` imports or reaches as `fastlrx.module.name`"
    seen = {(src, n) for mod in _modules() for src, names in _imports(mod) for n in names}
    for f in (PKG.parent/'bench').glob('*.py'):
        text = f.read_text()
        seen |= {(n.module.split('.')[-1], a.name) for n in ast.walk(ast.parse(text))
                 if isinstance(n, ast.ImportFrom) and (n.module or '').startswith('fastlrx.') for a in n.names}
        seen |= set(re.findall(r'\bfastlrx\.(\w+)\.(\w+)', text))
    return seen

def test_names_outside_the_api_are_shared():
    "A name without an underscore that `__all__` leaves out is the shared core: another module or `bench/` imports it"
    used = _imported_names()
    bad = [f"{mod}.{n}" for mod in _modules() for n in _outside_api(mod) if (mod, n) not in used and n not in PICKLED]
    assert not bad, "Not used outside their module; give them an underscore:\n" + '\n'.join(bad)
