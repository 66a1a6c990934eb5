"""Build fastlrx's docs without quarto: README.md from nbs/index.ipynb, and one HTML page per notebook in _docs/.

    python tools/docs.py readme [--check]
    python tools/docs.py html [--names suggest,pets] [--no-execute]
"""
from __future__ import annotations
import argparse, html, json, os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository, wherever the tool is run from
MATHJAX = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js'

# ---------------------------------------------------------------- README

_rel_img = re.compile(r'''(!\[[^\]]*\]\(|<img\s[^>]*?src=["'])(?:\./)?(?![a-z][\w+.-]*:|/|#)''', re.I)

def readme_links(md:str) -> str:
    "Point relative image links in notebook markdown at `nbs/`, where they live seen from the repo root"
    return _rel_img.sub(r'\1nbs/', md)

def _is_hidden(src:str) -> bool:
    "Whether a code cell stays out of the README (hidden or exported)"
    return bool(re.search(r'^#\|\s*(hide|export|exporti|exports|default_exp)\b', src, re.M))

def _text_output(outputs) -> str:
    "The text outputs of a cell (streams and plain results, not plots or tables)"
    out = []
    for o in outputs:
        if o.get('output_type') == 'stream': out.append(''.join(o.get('text', '')))
        elif 'text/plain' in o.get('data', {}) and not {'image/png', 'text/html'} & set(o['data']): out.append(''.join(o['data']['text/plain']))
    return ''.join(out).rstrip('\n')

def nb_markdown(nb_path) -> str:
    "The reader-facing content of notebook `nb_path` as GitHub markdown"
    nb, parts = json.loads(Path(nb_path).read_text(encoding='utf-8')), []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.strip())
        elif c['cell_type'] == 'code' and src.strip() and not _is_hidden(src):
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
            parts.append(f'```python\n{code}\n```')
            if out := _text_output(c.get('outputs', [])): parts.append(f'```\n{out}\n```')
    return '\n\n'.join(p for p in parts if p) + '\n'

def render_readme(root=ROOT, check:bool=False) -> bool:
    "Write README.md from nbs/index.ipynb (with `check`, only compare); True if it was already up to date"
    new, dest = readme_links(nb_markdown(Path(root)/'nbs'/'index.ipynb')), Path(root)/'README.md'
    same = dest.exists() and dest.read_text(encoding='utf-8') == new
    if not check and not same: dest.write_text(new, encoding='utf-8')
    return same

# ---------------------------------------------------------------- pages and titles

def page_name(nb_path) -> str:
    "The HTML file a notebook becomes: `00_suggest.ipynb` -> `suggest.html`, `04a_search.ipynb` -> `search.html`"
    return re.sub(r'^\d+[a-z]?_', '', Path(nb_path).stem) + '.html'

def nb_title(nb_path) -> tuple:
    "`(title, description)` from the notebook's first `# ` heading and its `> ` line, as plain text"
    for c in json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown' and (m := re.search(r'^#\s+(.+)$', src, re.M)):
            d = re.search(r'^>\s*(.+(?:\n(?!\s*\n).+)*)', src, re.M)  # the quote and its continuation lines
            return m[1].replace('`', '').strip(), ' '.join(d[1].split()) if d else ''
    return Path(nb_path).stem, ''

def doc_nbs(root=ROOT) -> list:
    "The notebooks that become pages: index first, then `NN_*.ipynb` and `NNa_*.ipynb` in order"
    nbs = Path(root)/'nbs'
    return [p for p in [nbs/'index.ipynb'] if p.exists()] + sorted(p for p in nbs.glob('[0-9][0-9]*_*.ipynb') if re.match(r'\d\d[a-z]?_', p.name))

# ---------------------------------------------------------------- notebook processing

def _runner(timeout):
    "An nbdev processor that executes every code cell (nbdev's own runs only what `show_doc` needs)"
    from nbdev.process import Processor
    from execnb.shell import CaptureShell
    class run_all(Processor):
        def begin(self):
            self.k = CaptureShell(path=Path.cwd())
            self.k.run_cell('from nbdev.showdoc import show_doc')  # as nbdev does for the cells it adds
        def cell(self, c):
            if c.cell_type != 'code' or c.directives_.get('eval', '').lower() == 'false': return
            self.k.cell(c, timeout=timeout)
            if self.k.exc: raise RuntimeError(f'{self.nb.path_}, cell {c.idx_}:\n{c.source}') from self.k.exc
    return run_all

def process_nb(nb_path, execute:bool=True, timeout:int=1200) -> list:
    "The cells of `nb_path` after nbdev's docs processing (in the notebooks' folder), executed if `execute`"
    from fastcore.nbio import read_nb
    from fastcore.xtras import working_directory
    from nbdev.processors import FilterDefaults, exec_show_docs
    from nbdev.process import NBProcessor
    nb_path = Path(nb_path).resolve()
    with working_directory(nb_path.parent):
        nb = read_nb(nb_path)
        procs = [_runner(timeout) if execute and p is exec_show_docs else p for p in FilterDefaults().procs()]
        NBProcessor(nb=nb, procs=procs, rm_directives='quarto').process()
    return _once(nb.cells)

def _once(cells) -> list:
    "`cells` without front matter, and with one `show_doc` per name (nbdev adds its own beside explicit ones)"
    seen, res = set(), []
    for c in cells:
        if c.cell_type == 'raw' or (c.cell_type == 'markdown' and c.source.startswith('<!-- WARNING')): continue
        if c.cell_type == 'code' and (m := re.search(r'^show_doc\(\s*([^,)]+)', c.source, re.M)):
            if m[1].strip() in seen: continue
            seen.add(m[1].strip())
        res.append(c)
    return res

# ---------------------------------------------------------------- HTML

def _md(src:str) -> str:
    "Markdown (math kept as TeX for MathJax) as HTML, with nbdev's quarto-only syntax made plain"
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    src = re.sub(r'\[source\]\(([^)]*)\)\{[^}]*\}', lambda m: _src_link(m[1]), src)
    out = re.sub(r'href="/(?!/)([^"]+\.html)', r'href="\1', markdown2html_mistune(src))  # site-absolute -> relative
    return re.sub(r'(<h\d id="|class="anchor-link" href="#)([^"]+)', lambda m: m[1] + m[2].lower(), out)  # ids as nbdev links them

def _src_link(url:str) -> str:
    "nbdev's source link as a link floated right: GitHub when `repo-url` is set, else the file in this checkout"
    if not url.startswith('http'): url = re.sub(r'^/blob/[^/]+/', '../', url).split('#')[0]
    return f'<a class="source" href="{html.escape(url)}">source</a>'

def _esc(t:str) -> str: return html.escape(t, quote=False)

def _join(t) -> str: return t if isinstance(t, str) else ''.join(t)

_ansi = re.compile(r'\x1b\[[0-9;]*m')
_bar = re.compile(r'^(\S.*?: )?\|[█X-]+\|.*$|^[█X]$')

def _drop_progress(text:str) -> str:
    "Stream text without fastprogress's text bars"
    lines = [l.rstrip() for l in re.split(r'[\r\n]', text)]
    return '\n'.join(l for l in lines if l.strip() and not _bar.match(l.strip()) and not re.fullmatch(r'\S.*? :', l.strip()))

def _output(o) -> str:
    "One cell output as HTML: markdown, HTML, image or text, in that order of preference"
    t, d = o.get('output_type'), o.get('data', {})
    if t == 'stream':  # stderr is warnings: noise for a reader
        text = _drop_progress(_join(o.get('text', ''))) if o.get('name') != 'stderr' else ''
        return f'<pre class="output">{html.escape(text)}</pre>' if text else ''
    if t == 'error': return f'<pre class="output error">{html.escape(_ansi.sub("", chr(10).join(o["traceback"])))}</pre>'
    if 'text/markdown' in d: return _md(_join(d['text/markdown']))
    if 'text/html' in d: return f'<div class="output">{_join(d["text/html"])}</div>'
    for mime in ('image/png', 'image/jpeg'):
        if mime in d:
            w = (o.get('metadata', {}).get(mime) or {}).get('width')
            return f'<img class="output" src="data:{mime};base64,{_join(d[mime]).strip()}"{f" width={w}" if w else ""}>'
    if 'image/svg+xml' in d: return f'<div class="output">{_join(d["image/svg+xml"])}</div>'
    if 'text/plain' in d: return f'<pre class="output">{html.escape(_join(d["text/plain"]))}</pre>'
    return ''

def _cell(c) -> str:
    "One processed cell as HTML: no prompts, quarto's `#|` options honoured"
    if c.cell_type == 'markdown': return _md(c.source)
    opts = dict(re.findall(r'^#\|\s*([\w-]+):\s*(.*?)\s*$', c.source, re.M))
    code = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
    parts = [] if opts.get('echo') == 'false' or not code else [_code(code)]
    if opts.get('output') != 'false': parts += [_output(o) for o in c.get('outputs', [])]
    if re.match(r'show_doc\(', code): return '<div class="api">' + re.sub(r'<hr\s*/?>', '', ''.join(parts), count=1) + '</div>'
    return '\n'.join(p for p in parts if p)

def _code(code:str) -> str:
    "Python source, highlighted by pygments"
    from pygments import highlight
    from pygments.lexers import PythonLexer
    from pygments.formatters import HtmlFormatter
    return highlight(code, PythonLexer(), HtmlFormatter(cssclass='highlight'))

def _nav(pages, current:str, body:str) -> str:
    "Links to every page; the current one also lists its sections"
    items = []
    for name, title in pages:
        sub = ''
        if name == current:
            hs = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', body)
            sub = ''.join(f'<li><a href="#{i}">{re.sub("<[^>]+>", "", t)}</a></li>' for i, t in hs)
            sub = f'<ul class="toc">{sub}</ul>' if sub else ''
        cls = ' class="current"' if name == current else ''
        items.append(f'<li><a{cls} href="{name}">{_esc(title)}</a>{sub}</li>')
    return f'<nav class="sidebar"><ul>{"".join(items)}</ul></nav>'

def render_page(cells, title:str, desc:str, pages, name:str) -> str:
    "A whole HTML page: sidebar, title, description, cells"
    from pygments.formatters import HtmlFormatter
    body = '\n'.join(_cell(c) for c in cells)
    head = f'<h1 class="title">{_esc(title)}</h1>' + (f'<p class="description">{_esc(desc)}</p>' if desc else '')
    head = re.sub(r'`([^`]+)`', r'<code>\1</code>', head)  # code spans in the description
    return f'''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title if name == pages[0][0] else f'{title} – {pages[0][1]}')}</title>
<style>{CSS}{HtmlFormatter().get_style_defs('.highlight')}</style>
<script>MathJax = {{tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]}}}};</script>
<script async src="{MATHJAX}"></script>
</head><body>
{_nav(pages, name, body)}
<main>{head}
{body}
</main></body></html>
'''

def build_html(root=ROOT, names=(), execute:bool=True, timeout:int=1200) -> list:
    "Write `_docs/<page>.html` for the notebooks whose names contain one of `names` (all if empty)"
    root = Path(root)
    dest, nbs = root/'_docs', doc_nbs(root)
    dest.mkdir(exist_ok=True)
    if (root/'nbs'/'images').is_dir(): shutil.copytree(root/'nbs'/'images', dest/'images', dirs_exist_ok=True)
    titles = {p: nb_title(p) for p in nbs}
    pages, written = [(page_name(p), titles[p][0]) for p in nbs], []
    for p in nbs:
        if names and not any(n in p.stem for n in names): continue
        page = dest/page_name(p)
        page.write_text(render_page(process_nb(p, execute, timeout), *titles[p], pages, page.name), encoding='utf-8')
        written.append(page)
    return written

CSS = '''
body { margin: 0; font: 16px/1.6 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #212529; }
a, a code { color: #2780e3; text-decoration: none; } a:hover { text-decoration: underline; }
.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: 250px; overflow-y: auto; padding: 1.5rem 1rem;
  box-sizing: border-box; background: #f8f9fa; border-right: 1px solid #dee2e6; font-size: .92rem; }
.sidebar ul { list-style: none; margin: 0; padding: 0; } .sidebar li { margin: .15rem 0; }
.sidebar a { display: block; padding: .2rem .5rem; border-radius: 4px; color: #343a40; }
.sidebar a.current { background: #e7f1fc; color: #2780e3; font-weight: 600; }
.sidebar .toc { margin: .2rem 0 .5rem .8rem; border-left: 1px solid #dee2e6; font-size: .85rem; }
.sidebar .toc a { color: #6c757d; padding: .1rem .6rem; }
main { margin-left: 250px; max-width: 920px; padding: 2rem 3rem 4rem; }
h1.title { font-size: 2.3rem; font-weight: 500; margin: 0 0 .3rem; }
.description { font-size: 1.2rem; color: #5a6169; margin: 0 0 2rem; padding-bottom: 1rem; border-bottom: 1px solid #dee2e6; }
h2 { font-weight: 500; margin-top: 2.4rem; padding-bottom: .3rem; border-bottom: 1px solid #e9ecef; }
h3, h4 { font-weight: 500; margin-top: 1.6rem; }
.anchor-link { visibility: hidden; margin-left: .3rem; color: #adb5bd; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link, h4:hover .anchor-link { visibility: visible; }
code { font-family: SFMono-Regular, Menlo, Consolas, monospace; font-size: .875em; color: #9753b8; }
pre code { color: inherit; }
.highlight, pre { background: #f8f9fa; border-radius: 4px; }
.highlight pre, pre { margin: 0; padding: .7rem 1rem; overflow-x: auto; font: .85rem/1.45 SFMono-Regular, Menlo, Consolas, monospace; }
.highlight { margin: 1rem 0 .5rem; border-left: 3px solid #dee2e6; }
pre.output { background: none; padding: .3rem 1rem; color: #495057; white-space: pre-wrap; word-break: break-word; }
pre.error { color: #b02a37; }
img { max-width: 100%; height: auto; } img.output { display: block; margin: .5rem 1rem; }
div.output { margin: .5rem 1rem; overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .88rem; }
th, td { padding: .3rem .7rem; border: 0; border-bottom: 1px solid #dee2e6; text-align: left; } th { border-bottom-width: 2px; }
.dataframe { border: 0; } .dataframe td, .dataframe th { text-align: right; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; color: #5a6169; border-left: 3px solid #dee2e6; }
.api { margin: 1.5rem 0; padding: .3rem 1.2rem .6rem; border: 1px solid #dee2e6; border-radius: 6px;
  box-shadow: 0 .125rem .25rem rgba(0,0,0,.075); }
.api h2, .api h3, .api h4 { margin-top: .6rem; border: 0; font-family: SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.15rem; }
.api .highlight { border-left: 0; margin: .5rem 0; } .api table { width: 100%; }
.api th, .api td { text-align: left; }
a.source { float: right; font-size: .8rem; margin-top: .9rem; }
@media (max-width: 800px) { .sidebar { position: static; width: auto; } main { margin-left: 0; padding: 1rem; } }
'''

# ---------------------------------------------------------------- CLI

def main(argv=None):
    "Render README.md or the HTML pages"
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='job', required=True)
    r = sub.add_parser('readme', help='write README.md from nbs/index.ipynb')
    r.add_argument('--check', action='store_true', help='fail if README.md is stale instead of writing it')
    h = sub.add_parser('html', help='write one page per notebook into _docs/')
    h.add_argument('--names', default='', help='comma-separated parts of notebook names to build (default: all)')
    h.add_argument('--no-execute', action='store_true', help="use the notebooks' stored outputs instead of running them")
    a = p.parse_args(argv)
    if a.job == 'readme':
        same = render_readme(check=a.check)
        if a.check and not same: sys.exit('README.md differs from nbs/index.ipynb: run `python tools/docs.py readme`')
        print('README.md is up to date' if same else 'README.md written')
    else:
        os.environ.setdefault('MPLBACKEND', 'Agg')
        sample = ROOT.parent/'shared'/'data'/'oxford-pets-sample'  # the real pets sample beside the project, as tools/test.sh
        if 'FASTLRX_PETS' not in os.environ and (sample/'images').is_dir(): os.environ['FASTLRX_PETS'] = str(sample)
        for page in build_html(names=[n for n in a.names.split(',') if n], execute=not a.no_execute): print(page)

if __name__ == '__main__': main()
