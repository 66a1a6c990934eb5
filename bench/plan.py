"What the quick and the full benchmark run: each task with the learning-rate grid its oracle is searched on (the task's own), and its seeds."
from __future__ import annotations
from fastcore.basics import store_attr
from .tasks import Task, TASKS, log_grid

__all__ = ['QUICK_TASKS', 'QUICK_GRID', 'BenchTask', 'bench_plan', 'long_plan']

QUICK_TASKS = ('digits_mlp_2ep', 'cancer_sgd_bs8')
QUICK_GRID = (1e-3, 1, 2)  # the quick run's grid on both: 2 points per decade

class BenchTask:
    "A `Task`, the log grid `(lo, hi, per_decade)` its oracle is searched on (default: the task's own), and its seeds"
    def __init__(self, task:Task, grid:tuple|None=None, seeds=(0, 1, 2)):
        store_attr('task,seeds')
        self.lo, self.hi, self.per_decade = (*(grid or task.grid), 4)[:3]
    @property
    def name(self): return self.task.name
    @property
    def grid(self): return log_grid(self.lo, self.hi, self.per_decade)
    def __repr__(self): return f"BenchTask({self.name}: {len(self.grid)} lrs x seeds {list(self.seeds)})"

def bench_plan(quick:bool=False, tasks=TASKS) -> list:
    "The `BenchTask`s of the quick (2 small tasks, 2 points per decade, 2 seeds) or the full benchmark (every task of `tasks`' suite, 3 seeds)"
    if quick: return [BenchTask(tasks[n], QUICK_GRID, (0, 1)) for n in QUICK_TASKS]
    return [BenchTask(t) for t in tasks.where(suite='suite')]

def long_plan(tasks=TASKS) -> list:
    "The `BenchTask`s of the long fits that evaluate the search (`bench.search`), on their own grids"
    return [BenchTask(t) for t in tasks.where(suite='long')]
