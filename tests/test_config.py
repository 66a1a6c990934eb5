"Facts that live in two places must agree: package metadata, the version, and the README's commands in CI."
import re, tomllib
from configparser import ConfigParser
from importlib.metadata import metadata, entry_points
from pathlib import Path
import fastlrx

root = Path(__file__).parent.parent
pyproject = tomllib.loads((root/'pyproject.toml').read_text())
ini = ConfigParser(delimiters=['=']); ini.read(root/'settings.ini'); ini = ini['DEFAULT']

def test_name_agrees():
    assert pyproject['project']['name'] == ini['lib_name'] == pyproject['tool']['nbdev']['lib_path'] == 'fastlrx'

def test_version_lives_in_init_only():
    assert 'version' in pyproject['project']['dynamic']
    assert 'version' not in ini and 'version' not in pyproject['project']
    assert re.fullmatch(r'\d+\.\d+\.\d+', fastlrx.__version__)
    assert metadata('fastlrx')['Version'] == fastlrx.__version__

def test_installed_metadata_comes_from_settings():
    md = metadata('fastlrx')
    assert md['Summary'] == ini['description']
    assert md['Requires-Python'] == '>=' + ini['min_python']
    reqs = md.get_all('Requires-Dist')
    for r in ini['requirements'].split(): assert any(q.replace(' ', '').startswith(r.split('>')[0].split('<')[0].split('=')[0]) for q in reqs), r

def test_every_extra_in_settings_is_set_by_setup():
    "Each `<name>_requirements` of settings.ini is the extra `<name>`, and the dev extra holds what the tests import"
    setup = (root/'setup.py').read_text()
    extras = [k[:-len('_requirements')] for k in ini if k.endswith('_requirements')]
    assert {'dev', 'pets', 'distributed'} <= set(extras)
    for x in extras: assert f"'{x}': reqs('{x}_requirements')" in setup, x
    assert any(r.startswith('accelerate') for r in ini['dev_requirements'].split())

def test_dynamic_fields_are_set_by_setup():
    setup = (root/'setup.py').read_text()
    keys = {'keywords': 'keywords=', 'description': 'description=', 'version': 'version=', 'dependencies': 'install_requires=',
            'optional-dependencies': 'extras_require=', 'readme': 'long_description=', 'license': 'license=',
            'authors': 'author=', 'classifiers': 'classifiers=', 'entry-points': 'entry_points=', 'scripts': 'console_scripts',
            'urls': 'project_urls=', 'requires-python': 'python_requires='}
    for field in pyproject['project']['dynamic']: assert keys[field] in setup, field

def test_console_scripts_installed():
    names = {e.name for e in entry_points(group='console_scripts') if e.value.startswith('fastlrx.')}
    assert names == {'fastlrx-demo'}

def _readme_commands():
    "The shell commands in the README's 'Quick start' block"
    txt = (root/'README.md').read_text()
    block = re.search(r'## Quick start.*?```(?:sh|bash)\n(.*?)```', txt, re.S).group(1)
    return [l for l in block.splitlines() if l.strip() and not l.startswith('#')]

def test_ci_runs_the_readme_install_and_test_commands():
    install, demo, test = _readme_commands()
    ci = (root/'.ci'/'run').read_text().splitlines()
    assert install in ci and test in ci
    assert demo.startswith('fastlrx-demo')
