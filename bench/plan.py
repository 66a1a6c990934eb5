"What the quick and the full benchmark run: each task with the learning-rate grid its oracle is searched on, and its seeds."
from __future__ import annotations
from fastcore.basics import store_attr
from .tasks import Task, TASKS, LONG_TASKS, log_grid

__all__ = ['BenchTask', 'FULL_GRIDS', 'LONG_GRIDS', 'bench_plan', 'long_plan']

class BenchTask:
    "A `Task`, the log grid (`lo`, `hi`, `per_decade`) its oracle is searched on, and its seeds"
    def __init__(self, task:Task, lo:float, hi:float, per_decade:int=4, seeds=(0, 1, 2)): store_attr()
    @property
    def name(self): return self.task.name
    @property
    def grid(self): return log_grid(self.lo, self.hi, self.per_decade)
    def __repr__(self): return f"BenchTask({self.name}: {len(self.grid)} lrs x seeds {list(self.seeds)})"

FULL_GRIDS = dict(digits_cnn_1ep=(1e-4, 3.16), digits_cnn=(1e-4, 3.16), digits_cnn_9ep=(1e-4, 3.16), pets_lite0=(1.78e-4, 0.178),
                  tabular_cancer=(1e-4, 1), diabetes_reg=(1e-5, 1), wine_sgd_2ep=(1e-3, 10), wine_sgd=(1e-3, 10), wine_sgd_20ep=(1e-3, 10),
                  digits_plain_2ep=(1e-3, 3.16), digits_plain_6ep=(1e-3, 3.16), digits_plain_20ep=(1e-3, 3.16),
                  digits_mlp_2ep=(1e-4, 1), digits_mlp_6ep=(1e-4, 1), digits_mlp_24ep=(1e-4, 1),
                  cancer_sgd_bs8=(1e-4, 1), char_gru_1ep=(1e-4, 1), char_gru_4ep=(1e-4, 1), char_transformer=(1e-4, 1))
"Each task's grid `(lo, hi)`, 4 points per decade: wide enough that the oracle is inside and the top diverges or degrades"

def bench_plan(quick:bool=False) -> list:
    "The `BenchTask`s of the quick (2 small tasks, 2 points per decade, 2 seeds) or the full benchmark (every task, 3 seeds)"
    if quick: return [BenchTask(TASKS[n], 1e-3, 1, 2, (0, 1)) for n in ('digits_mlp_2ep', 'cancer_sgd_bs8')]
    return [BenchTask(TASKS[n], *FULL_GRIDS[n]) for n in TASKS]

LONG_GRIDS = dict(digits_cnn_30ep=(1e-4, 3.16), wine_sgd_100ep=(1e-3, 10), digits_mlp_bs32_20ep=(1e-4, 1), cancer_sgd_15ep=(1e-4, 1))
"The long fits' grids, as their families' in `FULL_GRIDS`"

def long_plan() -> list:
    "The `BenchTask`s of the long fits that evaluate the search (`bench.search --long`)"
    return [BenchTask(LONG_TASKS[n], *LONG_GRIDS[n]) for n in LONG_TASKS]
