"`python -m bench`: benchmark LR suggestions against a grid oracle, measure what the finder costs, print the report."
from __future__ import annotations
import warnings
import torch
from fastcore.script import call_parse
from .run import run_bench
from .report import print_report, plot_regret

@call_parse
def main(quick:bool=False,      # Quick smoke-test run (a few minutes) instead of the full one
         tasks:str=None,        # Comma-separated task names to run (default: the whole plan)
         work:str=None,         # Folder for per-task results, reused when present (default fastlrx_bench/<mode>)
         out:str=None,          # Results JSON to write (default fastlrx_bench/<mode>.json)
         no_cost:bool=False,    # Skip the cost measurements
         no_quality:bool=False, # Only report the tasks already in `work`; train nothing new
         plot:str=None,         # Also save the regret plot to this PNG
         threads:int=1):        # torch threads
    "Benchmark LR suggestions against a grid oracle and measure what the finder costs"
    torch.set_num_threads(threads)
    warnings.filterwarnings('ignore')
    mode = 'quick' if quick else 'full'
    report = run_bench(quick, tasks.split(',') if tasks else None, work, out or f'fastlrx_bench/{mode}.json',
                       cost=not no_cost, quality=not no_quality)
    print_report(report)
    if plot and report['overall']: plot_regret(report).savefig(plot, dpi=110, bbox_inches='tight')
