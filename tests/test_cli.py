"The console scripts work from a shell, as the README says."
import subprocess

def run(*args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600)

def test_demo_writes_table_and_plot(tmp_path):
    png = tmp_path/'demo.png'
    r = run('fastlrx-demo', '--no-train', '--num-it', '40', '--plot', str(png), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ('valley', 'minimum', 'recommended', 'curvature'): assert name in r.stdout
    assert png.exists() and png.stat().st_size > 10_000
    assert '\r' not in r.stdout and '█' not in r.stdout, "no progress bars when the output is not a terminal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ['demo.png'], "the demo writes nothing but its plot"
