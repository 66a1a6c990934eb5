"The docs tool `tools/docs.py`: README.md from the index notebook, and HTML pages that read well."
import importlib.util, json, re, shutil, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('docs_tool', root/'tools'/'docs.py')
docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(docs)

def run_tool(tree, *args, cwd):
    "Run the tool as a fresh clone at `tree` would, from another folder"
    return subprocess.run([sys.executable, str(tree/'tools'/'docs.py'), *args], capture_output=True, text=True, cwd=cwd, timeout=300)

def clone(tmp_path, **nbs) -> Path:
    "A minimal project tree in `tmp_path`: the tool, nbdev's config, and notebooks `nbs` (name -> cells)"
    tree = tmp_path/'clone'
    (tree/'tools').mkdir(parents=True); (tree/'nbs').mkdir()
    shutil.copy(root/'tools'/'docs.py', tree/'tools')
    shutil.copy(root/'pyproject.toml', tree)
    for name, cells in nbs.items(): (tree/'nbs'/name).write_text(json.dumps(nb(*cells)))
    return tree

def nb(*cells):
    meta = dict(kernelspec=dict(display_name='python3', language='python', name='python3'))
    return dict(cells=list(cells), metadata=meta, nbformat=4, nbformat_minor=5)

def md(src): return dict(cell_type='markdown', metadata={}, source=src)
def code(src, *outputs, n=None): return dict(cell_type='code', metadata={}, source=src, outputs=list(outputs), execution_count=n)

# ---------------------------------------------------------------- README

def test_readme_check_passes_in_the_repo(tmp_path):
    r = run_tool(root, 'readme', '--check', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_check_fails_on_drift_and_readme_fixes_it(tmp_path):
    tree = clone(tmp_path)
    shutil.copy(root/'nbs'/'index.ipynb', tree/'nbs')
    (tree/'README.md').write_text('# stale\n')
    r = run_tool(tree, 'readme', '--check', cwd=tmp_path)
    assert r.returncode != 0 and 'differs' in r.stderr
    assert (tree/'README.md').read_text() == '# stale\n', "--check writes nothing"
    assert run_tool(tree, 'readme', cwd=tmp_path).returncode == 0
    assert run_tool(tree, 'readme', '--check', cwd=tmp_path).returncode == 0
    assert (tree/'README.md').read_text().startswith('# fastlrx')

def test_readme_points_relative_images_at_nbs(tmp_path):
    src = ('![demo](images/fastlrx_demo.png) ![b](./images/b.png) ![web](https://example.com/c.png) '
           '![root](/d.png) <img src="images/e.png" width="300"> [not an image](images/f.png)')
    assert docs.readme_links(src) == ('![demo](nbs/images/fastlrx_demo.png) ![b](nbs/images/b.png) '
        '![web](https://example.com/c.png) ![root](/d.png) <img src="nbs/images/e.png" width="300"> [not an image](images/f.png)')
    tree = clone(tmp_path, **{'index.ipynb': [md('# proj\n\n> Short.\n\n![demo](images/fastlrx_demo.png)')]})
    assert run_tool(tree, 'readme', cwd=tmp_path).returncode == 0
    assert '![demo](nbs/images/fastlrx_demo.png)' in (tree/'README.md').read_text()

# ---------------------------------------------------------------- HTML

_api = [
    md("# The `widget` tools\n\n> Tools for 'widgets': a description\nover two lines."),
    code('#|default_exp widget'),
    code('#|hide\nfrom fastcore.basics import patch\nfrom fastcore.meta import delegates\nfrom fastcore.basics import ifnone\n'
         'from nbdev.showdoc import show_doc'),
    code('#|export\nclass Foo:\n    "A foo"\n    def __init__(self, a:int=1, c:int=3): self.a = a'),
    # `@patch` under another decorator: nbdev adds a `show_doc(Foo.bar)` although the notebook has one below
    code('#|export\n@patch\n@delegates(Foo.__init__)\ndef bar(self:Foo, b:int=2, **kwargs):\n    "Bar a foo"\n    return self.a + b'),
    md('## Barring\n\nThe loss falls fastest at $x = \\log_{10}(\\mathrm{lr})$, where $$s\'\'(x) = 0.$$'),
    code('show_doc(Foo.bar)'),
    code('show_doc(ifnone)'),  # a library function: nbdev gives it a quarto-style `[source](...){...}` link
    code('1 + 1', dict(output_type='execute_result', execution_count=7, metadata={}, data={'text/plain': ['2']}), n=7),
    code('print("fit")', dict(output_type='stream', name='stdout', text=['█\repoch  loss\nEpoch 1/1 : |███---| 50.00% [1/2]\r0  1.5\n']), n=8),
    md('![demo](images/pic.png)'),
]

def test_html_pages(tmp_path):
    tree = clone(tmp_path, **{'index.ipynb': [md('# proj\n\n> The front page.\n\nHello.')], '00_widget.ipynb': _api,
                              '01_more.ipynb': [md('# More\n\nText.')], 'scratch.ipynb': [md('# Not a page')]})
    (tree/'nbs'/'images').mkdir(); (tree/'nbs'/'images'/'pic.png').write_bytes(b'png')
    r = run_tool(tree, 'html', '--no-execute', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tree/'_docs').glob('*.html')) == ['index.html', 'more.html', 'widget.html']
    assert (tree/'_docs'/'images'/'pic.png').read_bytes() == b'png'
    page = (tree/'_docs'/'widget.html').read_text()
    assert '<title>The widget tools – proj</title>' in page and '<h1 class="title">The widget tools</h1>' in page
    assert "<p class=\"description\">Tools for 'widgets': a description over two lines.</p>" in page
    assert 'source{' not in page and '{target=' not in page
    assert re.search(r'<a class="source" href="https://github.com/[^"]+">source</a>', page)
    assert not re.search(r'In\s*\[|Out\s*\[|class="jp-InputPrompt|<hr', page)
    assert [page.count(f'<h3 id="{n}">') for n in ('foo', 'foo.bar', 'ifnone')] == [1, 1, 1], "each API entry once"
    assert page.count('<div class="api">') == 3
    assert '<pre class="output">2</pre>' in page and '<pre class="output">epoch  loss\n0  1.5</pre>' in page
    assert '$x = \\log_{10}(\\mathrm{lr})$' in page and "$$s''(x) = 0.$$" in page, "TeX stays readable offline"
    assert re.search(r'<script[^>]+src="https://[^"]+mathjax[^"]+"', page)
    assert '<img src="images/pic.png"' in page
    nav = re.search(r'<nav class="sidebar">(.*?)</nav>', page, re.S)[1]
    assert re.findall(r'<a(?: class="current")? href="([^"#]+)">([^<]+)</a>', nav) == [
        ('index.html', 'proj'), ('widget.html', 'The widget tools'), ('more.html', 'More')]
    assert '<a href="#barring">Barring</a>' in nav, "the current page lists its sections"
    assert 'href="widget.html"' in (tree/'_docs'/'index.html').read_text()

# ---------------------------------------------------------------- the README's demo numbers

def test_readme_demo_numbers_follow_the_shipped_curve():
    "Every pick the README quotes is what the current rules read off the demo's shipped curve (within 1e-6 relative), and the README says it"
    import numpy as np, torch
    from fastlrx.demo import demo_funcs
    from fastlrx.result import trim_curve
    spec = importlib.util.spec_from_file_location('demo_readme', root/'tools'/'demo_readme.py')
    tool = importlib.util.module_from_spec(spec); spec.loader.exec_module(tool)
    shipped = json.loads(tool.NUMBERS.read_text())
    curve = [torch.tensor(o) for o in trim_curve(shipped["lrs"], shipped["losses"], shipped["num_it"])]  # as `lr_find` passes it
    for f, row in zip(demo_funcs(shipped['epochs']), shipped['rows'], strict=True):
        assert np.isclose(float(f(*curve, shipped['num_it'])[0]), row['lr'], rtol=1e-6), (row['name'], row['lr'])
    assert tool.write_paragraph(shipped, check=True), "run `python tools/demo_readme.py` to regenerate the paragraph"
    assert tool.paragraph(shipped) in (root/'README.md').read_text()
