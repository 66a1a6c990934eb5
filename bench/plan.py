"What the quick and the full benchmark run: each task with the learning-rate grid its oracle is searched on, and its seeds."
from __future__ import annotations
from fastcore.basics import store_attr
from .tasks import Task, log_grid, digits_task, pets_task, cancer_task, diabetes_task, wine_task, _one_cycle

__all__ = ['BenchTask', 'with_budget', 'bench_plan']

class BenchTask:
    "A `Task`, the log grid (`lo`, `hi`, `per_decade`) its oracle is searched on, and its seeds"
    def __init__(self, task:Task, lo:float, hi:float, per_decade:int=4, seeds=(0, 1, 2)): store_attr()
    @property
    def name(self): return self.task.name
    @property
    def grid(self): return log_grid(self.lo, self.hi, self.per_decade)
    def __repr__(self): return f"BenchTask({self.name}: {len(self.grid)} lrs x seeds {list(self.seeds)})"

def with_budget(task:Task, epochs:int) -> Task:
    "`task` trained with `fit_one_cycle(epochs, lr)` instead, named `<name>_<epochs>ep`"
    desc = task.desc.rsplit('fit_one_cycle', 1)[0] + f'fit_one_cycle({epochs}, lr)'
    return Task(f'{task.name}_{epochs}ep', task.get_learner, _one_cycle(epochs), desc, task.metric, task.loss_name)

def bench_plan(quick:bool=False) -> list:
    "The `BenchTask`s of the quick or the full benchmark"
    if quick: return [BenchTask(t, lo, hi, 2, (0, 1)) for t, lo, hi in
                      ((digits_task, 1e-4, 1), (cancer_task, 1e-4, 1), (diabetes_task, 1e-4, 1), (wine_task, 1e-2, 10))]
    return [BenchTask(digits_task, 1e-4, 3.16), BenchTask(with_budget(digits_task, 1), 1e-4, 3.16),
            BenchTask(with_budget(digits_task, 9), 1e-4, 3.16), BenchTask(pets_task, 1.78e-4, 0.178),
            BenchTask(cancer_task, 1e-4, 1), BenchTask(diabetes_task, 1e-5, 1), BenchTask(wine_task, 1e-3, 10)]
