"Results on disk: strict JSON that keeps non-finite numbers, the shipped results, and the hardware and versions they were measured with."
from __future__ import annotations
import json, math, os, platform, time
from pathlib import Path

__all__ = ['RESULTS', 'save_json', 'read_json', 'load_results', 'environment']

RESULTS = Path(__file__).parent/'results'

def _jsonable(o):
    "Non-finite floats as strings, so the file is strict JSON"
    if isinstance(o, float) and not math.isfinite(o): return str(o)
    if isinstance(o, dict): return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [_jsonable(v) for v in o]
    return o

def _unjson(o):
    "Undo `_jsonable`: the strings 'inf', '-inf' and 'nan' back to floats"
    if o in ('inf', '-inf', 'nan'): return float(o)
    if isinstance(o, dict): return {k: _unjson(v) for k, v in o.items()}
    if isinstance(o, list): return [_unjson(v) for v in o]
    return o

def save_json(obj, fn):
    "Write `obj` as compact, strict JSON"
    Path(fn).parent.mkdir(parents=True, exist_ok=True)
    Path(fn).write_text(json.dumps(_jsonable(obj), separators=(',', ':')) + '\n')

def read_json(fn):
    "Read a file written by `save_json`"
    return _unjson(json.loads(Path(fn).read_text()))

def load_results(mode:str='full') -> dict:
    "The shipped benchmark results in `bench/results/` (`mode='full'`), or a results file's path"
    for fn in (RESULTS/f'{mode}.json', Path(mode)):
        if fn.is_file(): return read_json(fn)
    raise ValueError(f"No benchmark results named {mode!r}: pass 'full' or the path of a results file")

def _cpu() -> str:
    "The CPU's model name"
    info = Path('/proc/cpuinfo')
    names = (l.split(':', 1)[1].strip() for l in info.read_text().splitlines() if l.startswith('model name')) if info.exists() else ()
    return next(names, platform.processor())

def environment() -> dict:
    "Hardware and versions the numbers were measured with"
    import numpy as np, torch, fastai, fastcore, fastlrx
    from importlib.metadata import version, PackageNotFoundError
    try: tlf = version('torch-lr-finder')
    except PackageNotFoundError: tlf = None
    return dict(cpu=_cpu(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(), gpu=None if not torch.cuda.is_available()
                else torch.cuda.get_device_name(0), platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, fastai=fastai.__version__, fastcore=fastcore.__version__, numpy=np.__version__,
                fastlrx=fastlrx.__version__, torch_lr_finder=tlf, date=time.strftime('%Y-%m-%d'))
