"Build fastlrx from `settings.ini` (metadata) and `fastlrx/__init__.py` (version)."
import re
from configparser import ConfigParser
from pathlib import Path
import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=['='])
cfg.read(here/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
version = re.search(r'^__version__\s*=\s*"([^"]+)"', (here/cfg['lib_name']/'__init__.py').read_text(), re.M).group(1)
licenses = dict(apache2=('Apache-2.0', 'License :: OSI Approved :: Apache Software License'))
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()
min_python = cfg['min_python']
lic = licenses[cfg['license']]

def reqs(key): return cfg.get(key, '').split()

setuptools.setup(
    name=cfg['lib_name'], version=version, description=cfg['description'], keywords=cfg['keywords'].split(),
    author=cfg['author'], author_email=cfg['author_email'], license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])], 'Intended Audience :: ' + cfg['audience'],
                 lic[1], 'Natural Language :: ' + cfg['language']] +
                ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    url=f"https://github.com/{cfg['user']}/{cfg['repo']}",
    project_urls={'Repository': f"https://github.com/{cfg['user']}/{cfg['repo']}",
                  'Documentation': f"https://{cfg['user']}.github.io/{cfg['repo']}/"},
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    package_data={cfg['lib_name']: ['curves.json']},  # the recorded curves of `fastlrx.testing`
    install_requires=reqs('requirements'),
    extras_require={'dev': reqs('dev_requirements'), 'pets': reqs('pets_requirements'),
                    'distributed': reqs('distributed_requirements')},
    python_requires='>=' + min_python,
    long_description=(here/'README.md').read_text(encoding='utf-8'), long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
)
