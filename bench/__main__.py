"`python -m bench`: train every task on a grid of learning rates, run every contestant, score them against the grid oracle, print the report."
from __future__ import annotations
import warnings
from pathlib import Path
import torch
from fastcore.script import call_parse
from .plan import bench_plan
from .run import task_units, run_units, select_tasks, unpack_results, missing_units, pick_units, attach_picks
from .store import load_results

@call_parse
def main(quick:bool=False,      # Quick smoke-test run (a few minutes) instead of the full one
         tasks:str=None,        # Comma-separated task names to run (default: the whole plan)
         kinds:str=None,        # Comma-separated unit kinds to run (curve, fit, alt, autolr; default all)
         work:str=None,         # Folder for the units' results, reused when present (default fastlrx_bench/<mode>)
         out:str=None,          # Results JSON to write (default fastlrx_bench/<mode>.json)
         procs:int=2,           # Processes training side by side, one torch thread each
         no_cost:bool=False,    # Skip the cost measurements
         no_run:bool=False,     # Train nothing: rebuild the report from `work` (full mode: the shipped results when `work` is absent)
         plot:str=None):        # Also save the regret plot to this PNG
    "Benchmark LR suggestions and alternatives against a grid oracle, and measure what the finder costs"
    warnings.filterwarnings('ignore')
    torch.set_num_threads(1)  # as every unit runs, so the report's environment says what the numbers were measured with
    mode = 'quick' if quick else 'full'
    work = Path(work or f'fastlrx_bench/{mode}')
    plan = select_tasks(bench_plan(quick), tasks.split(',') if tasks else None)
    units = [u for bt in plan for u in task_units(bt) if not kinds or u[2] in kinds.split(',')]
    if mode == 'full' and not work.exists():
        print(f"{unpack_results(load_results('full'), work)} units of the shipped results unpacked into {work}")
    if no_run:
        if lost := missing_units(units, work): raise SystemExit(f"--no-run: {len(lost)} unit(s) missing from {work}, e.g. {lost[0][0]} {lost[0].key}")
    else: run_units(units, work, procs)
    from .report import print_report, plot_regret, build_report, collect
    results = collect(plan, work)
    picks = pick_units(results)
    if no_run:
        if lost := missing_units(picks, work): raise SystemExit(f"--no-run: {len(lost)} fit(s) at contestants' picks missing from {work}, e.g. {lost[0][0]} {lost[0].key}")
    else: run_units(picks, work, procs)
    report = build_report(mode, attach_picks(results, work), work, cost=not (no_cost or no_run), out=out or f'fastlrx_bench/{mode}.json')
    print_report(report)
    if plot and report['overall']: plot_regret(report).savefig(plot, dpi=110, bbox_inches='tight')
