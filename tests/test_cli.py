"The console scripts work from a shell, as the README says."
import subprocess, sys
from pathlib import Path

def run(*args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600)

def test_demo_writes_table_and_plot(tmp_path):
    png = tmp_path/'demo.png'
    r = run('fastlrx-demo', '--no-train', '--num-it', '40', '--plot', str(png), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ('valley', 'minimum', 'recommended', 'curvature'): assert name in r.stdout
    assert png.exists() and png.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ['demo.png'], "the demo writes nothing but its plot"

def test_docs_readme_check_passes_in_the_repo():
    r = run('fastlrx-docs', 'readme', '--check', cwd=Path(__file__).parent.parent)
    assert r.returncode == 0, r.stdout + r.stderr

def test_docs_readme_check_fails_on_drift(tmp_path):
    root = Path(__file__).parent.parent
    (tmp_path/'nbs').mkdir()
    (tmp_path/'nbs'/'index.ipynb').write_text((root/'nbs'/'index.ipynb').read_text())
    (tmp_path/'pyproject.toml').write_text('')
    (tmp_path/'README.md').write_text('# stale\n')
    r = run('fastlrx-docs', 'readme', '--check', cwd=tmp_path)
    assert r.returncode != 0 and 'differs' in r.stderr
