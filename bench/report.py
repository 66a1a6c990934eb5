"The results: the report JSON built from the units in `work`, and its markdown tables (leave-one-family-out per contestant and per family, the budget sweep, the cost of `AutoLR`) and plot."
from __future__ import annotations
import math, warnings
from pathlib import Path
import numpy as np
from .contestants import CONTESTANTS, PEERS, ALTERNATIVES
from .run import collect_task
from .score import stats, by, oracle
from .evaluate import score_all, fixed_lr_floor, short_tests
from .store import save_json, read_json, environment

__all__ = ['TARGETS', 'HOW', 'build_report', 'regret_table', 'family_table', 'sweep_table', 'autolr_cost_table', 'cost_table',
           'constants_table', 'targets_table', 'short_tests_table', 'tasks_table', 'environment_line', 'computed_on', 'plot_regret', 'print_report']

TARGETS = {'AutoLR': (0.03, 0.25), 'recommended': (0.05, 0.5)}
"The issue's goals: median and worst loss regret"

HOW = {**{p: 'as is (fastai)' for p in ('minimum', 'steep', 'slide', 'valley')}, 'lightning': 'as is (Lightning)',
       'torch_lr_finder': 'as is (its own range test)', 'fastai_default': 'no finder: fastai default LR',
       'prodigy': 'trained (lr=1)', 'schedulefree': 'trained (its defaults)',
       'recommended_v0.1': 'as is (tuned on 0.1\'s 5 tasks)', 'recommended': 'leave-one-family-out',
       'planned': 'leave-one-family-out', 'AutoLR': 'leave-one-family-out (replayed)',
       'AutoLR_as_run': 'trained, shipped constants (in-sample)', 'best_fixed_lr': 'reference: best grid LR per task'}
"How each contestant's numbers were obtained"

def _slim(res:dict) -> dict:
    "A task's results for the shipped JSON: without the per-batch losses (recoverable from the smoothed ones) and the short range tests"
    drop = lambda d: {k: v for k, v in d.items() if k != 'raw_losses'}
    return dict(res, runs=[dict(drop({k: v for k, v in r.items() if k != 'short'}), autolr=drop(r['autolr'])) for r in res['runs']])

def _sweep(results:list, rows:list) -> list:
    "Per task of a family trained at several budgets: plan, oracle LR and the median picks of the main contestants"
    by_tf = by(rows, 'task', 'contestant')
    fams = by(results, 'family')
    out = []
    for fam, ress in fams.items():
        if len(ress) < 2: continue
        for res in sorted(ress, key=lambda r: r['epochs']):
            run0 = res['runs'][0]
            pick = lambda c: float(np.median([r['lr'] for r in by_tf[(res['task'], c)]]))
            out.append(dict(family=fam, task=res['task'], schedule=res['schedule'], epochs=res['epochs'],
                            steps=(res['epochs'] + (res['schedule'] == 'fine_tune')) * run0['steps_per_epoch'],
                            oracle=[oracle(r['grid'])['lr'] for r in res['runs']],
                            picks={c: pick(c) for c in ('minimum', 'valley', 'recommended', 'planned', 'AutoLR')}))
    return out

def _autolr_cost(results:list) -> list:
    "Per task: seconds of the fit at fastai's default LR and of the same fit with `AutoLR`, and the test length"
    out = []
    for res in results:
        a = [r['autolr'] for r in res['runs']]
        plain, auto = float(np.median([x['plain_secs'] for x in a])), float(np.median([x['secs'] for x in a]))
        out.append(dict(task=res['task'], epochs=res['epochs'], steps=a[0]['steps'], num_it=a[0]['num_it'],
                        discriminative=any(r is not None for r in a[0]['ratios']), plain_secs=plain, autolr_secs=auto, ratio=auto / plain))
    return out

def build_report(mode:str, plan:list, work, cost:bool=True, out=None) -> dict:
    "Score every complete task in `work` and write the report: environment, tasks, rows, summaries, constants, sweep and cost"
    results = []
    for bt in plan:
        res = collect_task(bt, work)
        if res is None: warnings.warn(f"{bt.name}: not every unit is in {work}; left out of the report")
        else: results.append(res)
    cost_fn = Path(work)/'cost.json'
    if cost and not cost_fn.exists():
        from .cost import measure_cost
        save_json(measure_cost(widths=(16,) if mode == 'quick' else (16, 128), repeats=1 if mode == 'quick' else 3), cost_fn)
    report = dict(mode=mode, environment=environment(), contestants=CONTESTANTS, peers=PEERS, alternatives=ALTERNATIVES,
                  how=HOW, targets=TARGETS, cost=read_json(cost_fn) if cost_fn.exists() else [])
    if results:
        scored = score_all(results)
        rows = scored['rows'] + fixed_lr_floor(results)
        report.update(
            tasks={r['task']: {k: v for k, v in r.items() if k != 'runs'} | dict(steps_per_epoch=r['runs'][0]['steps_per_epoch'],
                                                                               oracle_lrs=[oracle(x['grid'])['lr'] for x in r['runs']])
                   for r in results},
            overall={c: stats(rs) for c, rs in by(rows, 'contestant').items()},
            per_family={c: {f: stats(x) for f, x in by(rs, 'family').items()} for c, rs in by(rows, 'contestant').items()},
            constants=scored['constants'], sweep=_sweep(results, rows), autolr_cost=_autolr_cost(results),
            short_tests=short_tests(results),
            rows=rows, raw=[_slim(r) for r in results])
    if out: save_json(report, out)
    return report

def _fmt(v, digits=2):
    "`v` for a table cell: '-' for None and NaN, 'inf', or `digits` decimals"
    if v is None or (isinstance(v, float) and math.isnan(v)): return '-'
    if isinstance(v, float) and math.isinf(v): return 'inf'
    return f'{v:.{digits}f}' if isinstance(v, float) else str(v)

def _order(report) -> list:
    "Contestants in table order: peers, alternatives, fastlrx, then the references"
    return [c for c in (*CONTESTANTS, 'AutoLR_as_run', 'best_fixed_lr') if c in report['overall']]

def regret_table(report:dict) -> str:
    "Markdown: median and worst loss and metric regret of every contestant over every task and seed, and how it was obtained"
    head = ('| contestant | how | median | worst | metric median | metric worst | no LR |\n|---|---|---|---|---|---|---|')
    rows = [f"| {'**'+c+'**' if c in TARGETS else c} | {report['how'][c]} | {_fmt(s['median'])} | {_fmt(s['worst'])} | "
            f"{_fmt(s['metric_median'])} | {_fmt(s['metric_worst'])} | {s['failed']} |" for c in _order(report) for s in [report['overall'][c]]]
    return '\n'.join([head, *rows])

def family_table(report:dict, key:str='median') -> str:
    "Markdown: one row per family, one column per contestant, the `key` ('median' or 'worst') loss regret"
    cs = [c for c in _order(report) if c not in ('AutoLR_as_run',)]
    fams = list(next(iter(report['per_family'].values())))
    head = '| family | ' + ' | '.join(cs) + ' |\n|---|' + '---|' * len(cs)
    rows = [f"| {f} | " + ' | '.join(_fmt(report['per_family'][c][f][key]) for c in cs) + ' |' for f in fams]
    return '\n'.join([head, *rows])

def sweep_table(report:dict) -> str:
    "Markdown: the budget sweep, oracle LR per seed against the fit's length, with the median picks beside it"
    cs = list(report['sweep'][0]['picks']) if report['sweep'] else []
    head = '| family | schedule | epochs | steps | oracle LR (per seed) | ' + ' | '.join(cs) + ' |\n|---|---|---|---|---|' + '---|' * len(cs)
    rows = [f"| {s['family']} | {s['schedule']} | {s['epochs']} | {s['steps']} | {', '.join(f'{o:.2g}' for o in s['oracle'])} | "
            + ' | '.join(f"{s['picks'][c]:.2g}" for c in cs) + ' |' for s in report['sweep']]
    return '\n'.join([head, *rows])

def constants_table(report:dict) -> str:
    "Markdown: the constants of each fitted rule, chosen without each family, and on the whole suite"
    out = []
    for rule, c in report['constants'].items():
        fmt = lambda p: ', '.join(f'{k}={v:g}' for k, v in p.items())
        out.append(f"| {rule} | all families | {fmt(c['all_families'])} |")
        out += [f"| {rule} | without {f} | {fmt(p)} |" for f, p in c['per_family'].items()]
    return '| rule | fitted on | constants |\n|---|---|---|\n' + '\n'.join(out)

def targets_table(report:dict) -> str:
    "Markdown: the issue's goals against the leave-one-family-out results, and whether each beats every peer and alternative"
    o, rivals = report['overall'], [c for c in (*PEERS, *ALTERNATIVES) if c in report['overall']]
    rows = []
    for c, (gm, gw) in TARGETS.items():
        s = o[c]
        beats = {k: all(s[k] < o[p][k] for p in rivals) for k in ('median', 'worst')}
        rows.append(f"| {c} | {_fmt(s['median'])} (goal {gm}) | {_fmt(s['worst'])} (goal {gw}) | "
                    f"{'yes' if beats['median'] else 'no'} | {'yes' if beats['worst'] else 'no'} |")
    return ('| contestant | median regret | worst regret | best median of all peers and alternatives | best worst |\n'
            '|---|---|---|---|---|\n' + '\n'.join(rows))

def short_tests_table(report:dict) -> str:
    "Markdown: `planned` read off stock range tests of each length, leave-one-family-out"
    head = '| range-test steps | median regret | worst regret | metric median | metric worst |\n|---|---|---|---|---|'
    return '\n'.join([head, *(f"| {n} | {_fmt(s['median'])} | {_fmt(s['worst'])} | {_fmt(s['metric_median'])} | {_fmt(s['metric_worst'])} |"
                               for n, s in report['short_tests'].items())])

def autolr_cost_table(report:dict) -> str:
    "Markdown: per task, the fit's seconds without and with `AutoLR` (median over seeds) and their ratio"
    head = '| task | epochs | first fit steps | range-test steps | fit s | with AutoLR s | ratio |\n|---|---|---|---|---|---|---|'
    rows = [f"| {c['task']} | {c['epochs']} | {c['steps']} | {c['num_it']}{' (+ one per ratio, unfrozen fit)' if c['discriminative'] else ''} | {c['plain_secs']:.2f} | {c['autolr_secs']:.2f} | "
            f"{c['ratio']:.2f} |" for c in report['autolr_cost']]
    return '\n'.join([head, *rows])

def _cost_row(r:dict) -> str:
    "One finder-cost row as a markdown table row"
    model = 'linear' if r['width'] == 0 else f"CNN w{r['width']}"
    return (f"| {model} ({r['params']:,}) | {r['method']} | {r['num_it']} | {r['secs']:.2f} | {r['vs_plain']:.2f} | "
            f"{r['vs_one_run']:.2f} | {r['overhead_us_per_batch']:.0f} | {int(r['bytes_written']):,} | "
            f"{r['peak_rss_added_mb']:.1f} | {r.get('peak_rss_mb', math.nan):.0f} |")

def cost_table(rows:list) -> str:
    "Markdown table of what one range test costs"
    head = ('| model (params) | method | num_it | wall s | vs num_it plain steps | vs one lr_find_plus | overhead us/batch | '
            'bytes written | peak RAM +MB | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|')
    return '\n'.join([head, *map(_cost_row, rows)])

def tasks_table(report:dict) -> str:
    "Markdown table of the tasks: family, schedule, budget, seeds, grid, loss and metric, setup"
    head = '| task | family | schedule | epochs x steps | seeds | grid (lrs) | loss / metric | setup |\n|---|---|---|---|---|---|---|---|'
    return '\n'.join([head, *(f"| {t} | {i['family']} | {i['schedule']} | {i['epochs']} x {i['steps_per_epoch']} | {len(i['seeds'])} | "
                               f"{i['grid'][0]:g}..{i['grid'][-1]:g} ({len(i['grid'])}) | {i['loss']} / {i['metric']} | {i['description']} |"
                               for t, i in report['tasks'].items())])

def environment_line(env:dict) -> str:
    "Where and with what the numbers were measured, in one line"
    return (f"{env['cpu']}, {env['cores']} cores, {env['torch_threads']} torch thread(s) per process, torch {env['torch']}, "
            f"fastai {env['fastai']}, torch-lr-finder {env['torch_lr_finder']}, {env['date']}")

def computed_on(report:dict) -> str:
    "What the tables were computed on: tasks, families, seeds, machine"
    n = sum(len(i['seeds']) for i in report['tasks'].values())
    fams = len({i['family'] for i in report['tasks'].values()})
    return (f"*Computed on {len(report['tasks'])} tasks in {fams} families, {n} task-seed pairs, in the {report['mode']} run; "
            f"measured on {environment_line(report['environment'])}.*")

def plot_regret(report:dict, ax=None, cap:float=10.):
    "Loss regret of every contestant on every task and seed (dots, one colour per family), with its median (black) and worst (red)"
    import matplotlib.pyplot as plt
    if ax is None: _, ax = plt.subplots(figsize=(12, 4.5))
    cs, fams = _order(report), list(dict.fromkeys(r['family'] for r in report['rows']))
    for i, c in enumerate(cs):
        rs = [r for r in report['rows'] if r['contestant'] == c]
        for j, f in enumerate(fams):
            ys = [max(min(r['loss_regret'], cap), 1e-3) for r in rs if r['family'] == f]
            ax.scatter(np.full(len(ys), i + (j - len(fams) / 2) * 0.05), ys, s=10, color=f'C{j % 10}', label=f if i == 0 else None, alpha=0.8)
        o = report['overall'][c]
        ax.plot([i - .3, i + .3], [max(min(o['median'], cap), 1e-3)] * 2, color='k', lw=2)
        ax.plot([i - .15, i + .15], [max(min(o['worst'], cap), 1e-3)] * 2, color='r', lw=1.5)
    ax.set_yscale('log'); ax.set_ylim(8e-4, cap * 1.5)
    ax.set_xticks(range(len(cs)), cs, rotation=30, ha='right')
    ax.set_ylabel(f'loss regret (capped at {cap:g}, floored at 0.001)')
    ax.set_title('Regret per task and seed (colour: family); black: median, red: worst')
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.0, 1.0))
    return ax.figure

def print_report(report:dict):
    "The benchmark's tables as markdown text"
    print(f"## fastlrx benchmark ({report['mode']}), {environment_line(report['environment'])}\n")
    if 'overall' in report:
        print(f"### Every contestant, leave-one-family-out\n\n{computed_on(report)}\n\n{regret_table(report)}\n")
        print(f"### Targets\n\n{targets_table(report)}\n")
        print(f"### Median regret per family\n\n{family_table(report)}\n")
        print(f"### Worst regret per family\n\n{family_table(report, 'worst')}\n")
        print(f"### Budget sweep\n\n{sweep_table(report)}\n")
        print(f"### Constants\n\n{constants_table(report)}\n")
        print(f"### The cost of AutoLR\n\n{autolr_cost_table(report)}\n")
        print(f"### Shorter range tests (planned, leave-one-family-out)\n\n{short_tests_table(report)}\n")
    if report['cost']: print(f"### What one range test costs\n\n{cost_table(report['cost'])}")
