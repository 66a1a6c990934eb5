"Reading the results: markdown tables of regret and cost, the per-task sections, and the regret plot."
from __future__ import annotations
import math
import numpy as np
from .contestants import CONTESTANTS, PEERS
from .score import score_task

__all__ = ['regret_table', 'cost_table', 'environment_line', 'computed_on', 'overall_section', 'task_section', 'cost_section',
           'tasks_table', 'plot_regret', 'print_report']

def _fmt(v, digits=2):
    "`v` for a table cell: '-' for None and NaN, 'inf', or `digits` decimals"
    if v is None: return '-'
    if isinstance(v, float) and math.isnan(v): return '-'
    if isinstance(v, float) and math.isinf(v): return 'inf'
    return f'{v:.{digits}f}' if isinstance(v, float) else str(v)

def regret_table(summary:dict, spread_key:str='spread') -> str:
    "Markdown table of median and worst loss and metric regret (and LR spread) per contestant"
    head = '| contestant | median | worst | metric median | metric worst | LR spread (decades) | no LR |\n|---|---|---|---|---|---|---|'
    rows = [f"| {'**'+c+'**' if c == 'recommended' else c} | {_fmt(s['median'])} | {_fmt(s['worst'])} | "
            f"{_fmt(s['metric_median'])} | {_fmt(s['metric_worst'])} | {_fmt(s.get(spread_key))} | {s['failed']} |"
            for c, s in summary.items()]
    return '\n'.join([head, *rows])

def _cost_row(r:dict) -> str:
    "One cost row as a markdown table row"
    model = 'linear' if r['width'] == 0 else f"CNN w{r['width']}"
    return (f"| {model} ({r['params']:,}) | {r['method']} | {r['num_it']} | {r['secs']:.2f} | {r['vs_plain']:.2f} | "
            f"{r['vs_one_run']:.2f} | {r['overhead_us_per_batch']:.0f} | {int(r['bytes_written']):,} | "
            f"{r['peak_rss_added_mb']:.1f} | {r.get('peak_rss_mb', math.nan):.0f} |")

def cost_table(rows:list) -> str:
    "Markdown table of the cost rows"
    head = ('| model (params) | method | num_it | wall s | vs num_it plain steps | vs one lr_find_plus | overhead us/batch | '
            'bytes written | peak RAM +MB | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|')
    return '\n'.join([head, *map(_cost_row, rows)])

def environment_line(env:dict) -> str:
    "Where and with what the numbers were measured, in one line"
    return (f"{env['cpu']}, {env['cores']} cores, {env['torch_threads']} torch thread(s), torch {env['torch']}, "
            f"fastai {env['fastai']}, torch-lr-finder {env['torch_lr_finder']}, {env['date']}")

def computed_on(report:dict, tasks=None) -> str:
    "What a regret table was computed on: its tasks and seeds (all of `report`'s when `tasks` is None) and the machine"
    tasks = list(report['summary']) if tasks is None else list(tasks)
    pairs = sum(len(report['tasks'][t]['seeds']) for t in tasks)
    return (f"*Computed on {len(tasks)} task(s) ({', '.join(tasks)}), {pairs} task-seed pairs, in the {report['mode']} run; "
            f"measured on {environment_line(report['environment'])}.*")

def overall_section(report:dict) -> str:
    "Markdown: the overall regret table over every task and seed, with what it was computed on"
    return (f"### Overall: every task and seed (loss regret; target met: {report['beats_peers']})\n\n"
            f"{computed_on(report)}\n\n" + regret_table(report['overall'], 'median_spread'))

def task_section(report:dict, task:str) -> str:
    "Markdown for one task: its seeds, grid and setup, the oracle's and `recommended`'s learning rates, and its regret table"
    info, raw = report['tasks'][task], next(r for r in report['raw'] if r['task'] == task)
    picks = ', '.join(f"{run['picks']['recommended']:.3g}" for run in raw['runs'])
    return (f"### {task}: {len(info['seeds'])} seeds, grid {info['grid'][0]:g}..{info['grid'][-1]:g} "
            f"({len(info['grid'])} lrs), {info['description']}\n\n{computed_on(report, [task])}\n\n"
            f"Oracle learning rate per seed: {', '.join(f'{lr:.3g}' for lr in info['oracle_lrs'])}; recommended picked {picks}.\n\n"
            + regret_table(report['summary'][task]))

def cost_section(report:dict) -> str:
    "Markdown: the cost table, with the machine it was measured on"
    return (f"### Cost\n\n*Each row the median over fresh processes (3 in the full run, 1 in the quick one), one torch thread; "
            f"measured on {environment_line(report['environment'])}.*\n\n" + cost_table(report['cost']))

def tasks_table(report:dict) -> str:
    "Markdown table of the tasks: seeds, learning-rate grid, loss and metric, setup"
    head = '| task | seeds | grid (lrs) | loss / metric | setup |\n|---|---|---|---|---|'
    return '\n'.join([head, *(f"| {t} | {len(i['seeds'])} | {i['grid'][0]:g}..{i['grid'][-1]:g} ({len(i['grid'])}) | "
                               f"{i['loss']} / {i['metric']} | {i['description']} |" for t, i in report['tasks'].items())])

def _plot_contestant(ax, i:int, rows:list, tasks:list, o:dict, cap:float):
    "Contestant `i`'s dots per task and seed, and its overall median (black) and worst (red)"
    for j, t in enumerate(tasks):
        ys = [min(r['loss_regret'], cap) for r in rows if r['task'] == t]
        ax.scatter(np.full(len(ys), i + (j - len(tasks)/2) * 0.06), np.maximum(ys, 1e-3), s=12, color=f'C{j}',
                   label=t if i == 0 else None, alpha=0.8)
    ax.plot([i - 0.3, i + 0.3], [max(min(o['median'], cap), 1e-3)] * 2, color='k', lw=2)
    ax.plot([i - 0.15, i + 0.15], [max(min(o['worst'], cap), 1e-3)] * 2, color='r', lw=1.5)

def plot_regret(report:dict, ax=None):
    "Loss regret of every contestant on every task and seed (dots), with the overall median (bar) and worst (tick)"
    import matplotlib.pyplot as plt
    if ax is None: _, ax = plt.subplots(figsize=(11, 4.5))
    rows = [r for res in report['raw'] for r in score_task(res)]
    tasks, cap = list(report['summary']), 10.0
    for i, c in enumerate(CONTESTANTS):
        _plot_contestant(ax, i, [r for r in rows if r['contestant'] == c], tasks, report['overall'][c], cap)
    ax.set_yscale('log'); ax.set_ylim(8e-4, cap * 1.5)
    ax.axvline(len(PEERS) - 0.5, color='grey', ls=':')
    ax.set_xticks(range(len(CONTESTANTS)), CONTESTANTS, rotation=30, ha='right')
    ax.set_ylabel('loss regret (capped at 10, floored at 0.001)')
    ax.set_title('Regret per task and seed; black: overall median, red: worst. Peers left of the dotted line, fastlrx right')
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.0, 1.0))
    return ax.figure

def print_report(report:dict):
    "The benchmark's tables as markdown text"
    print(f"## fastlrx benchmark ({report['mode']}), {environment_line(report['environment'])}\n")
    if report['overall']:
        print(overall_section(report))
        for t in report['summary']: print('\n' + task_section(report, t))
    if report['cost']: print('\n' + cost_section(report))
