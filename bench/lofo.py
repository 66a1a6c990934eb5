"Leave one family out: a rule's constants are chosen on every family but the one it is scored on."
from __future__ import annotations
import numpy as np
from .score import rule_row

__all__ = ['CAP', 'objective', 'Tuned', 'lofo_rows']

CAP = 3.0  # one failure counts as a regret of 3, so it cannot outweigh a whole family

def objective(rows:list) -> float:
    "What the constants minimise: the mean over families of the mean regret (capped at `CAP`) of their tasks and seeds"
    fams = {}
    for r in rows: fams.setdefault(r['family'], []).append(min(r['loss_regret'], CAP))
    return float(np.mean([np.mean(v) for v in fams.values()]))

class Tuned:
    "A rule with constants chosen on the suite: `pick(run, **params)` gives its LR on one run; `grid` lists the candidate constants"
    def __init__(self, name:str, pick, grid:list): self.name, self.pick, self.grid = name, pick, grid
    def rows(self, runs:list, params:dict) -> list:
        "One scored row per run at `params`"
        return [dict(rule_row(r['grid'], self.pick(r, **params)), task=r['task'], family=r['family'], seed=r['seed'])
                for r in runs]
    def choose(self, runs:list) -> dict:
        "The candidate constants with the lowest `objective` on `runs` (the first of equals, so grids list the plainest first)"
        return min(self.grid, key=lambda p: objective(self.rows(runs, p)))
    def __repr__(self): return f"Tuned({self.name})"

def lofo_rows(rule:Tuned, runs:list) -> tuple:
    "`(rows, chosen)`: every run scored with constants chosen without its family, and the constants of each fold"
    rows, chosen = [], {}
    for fam in dict.fromkeys(r['family'] for r in runs):
        chosen[fam] = rule.choose([r for r in runs if r['family'] != fam])
        rows += rule.rows([r for r in runs if r['family'] == fam], chosen[fam])
    return rows, chosen
