"The results: the report JSON built from the units in `work`, and its markdown tables (every contestant trained at its own pick, with paired comparisons and intervals; per family; the budget sweep; the cost of `AutoLR`) and plot. The tables read the contestants, their groups and order from the report."
from __future__ import annotations
import math
from pathlib import Path
import numpy as np
from .contestants import CONTESTANTS, GROUPS, Planned, run_steps, final_frac
from .run import collect_task
from .score import LOSS_FLOOR, stats, by, oracle
from .lofo import lofo_rows
from .evaluate import flat_runs, record, score_all, reference_rows
from .uncertainty import summary, paired, best_of, verdict, BOOT
from .store import save_json, read_json, environment
from fastlrx.suggest import fit_steps

__all__ = ['LOSS_FLOOR_TEXT', 'RTOL', 'ATOL', 'close', 'rows_differ', 'collect', 'versus_pairs', 'short_tests', 'measured_on', 'read_error',
           'build_report', 'regret_table', 'versus_table', 'measured_table', 'family_table', 'sweep_table', 'autolr_cost_table', 'cost_table',
           'constants_table', 'short_tests_table', 'tasks_table', 'environment_line', 'computed_on', 'plot_regret', 'print_report']

LOSS_FLOOR_TEXT = f"regret = (loss - oracle) / max(oracle, {LOSS_FLOOR:.0%} of the untrained loss)"

def _slim(res:dict) -> dict:
    "A task's results for the shipped JSON: without the per-batch losses (`fastlrx.suggest.raw_losses` recovers them)"
    def drop(o): return {k: drop(v) for k, v in o.items() if k != 'raw_losses'} if isinstance(o, dict) else o
    return dict(res, runs=[drop(r) for r in res['runs']])

def _units(results:list, contestants):
    "Every measured unit of `results`: curves, short tests, grid fits, fits at picks, and the contestants' own fits"
    own = [c.fit.at for c in contestants.values() if c.fit]
    for res in results:
        for r in res['runs']:
            yield r
            yield from r.get('short', {}).values()
            yield from (*r['grid'], *r.get('picked', ()), *(record(r, at) for at in own))

def measured_on(results:list, contestants=CONTESTANTS) -> list:
    "`[(machine and versions, units)]`: where the units were measured; units from before units recorded it count as one unknown"
    seen = {}
    for u in _units(results, contestants):
        e = u.get('env')
        k = f"{e['cpu']}, {e['cores']} cores, torch {e['torch']}, fastai {e['fastai']}, fastlrx {e['fastlrx']}, {e['date']}" if e else \
            'not recorded (measured before units recorded their machine, up to 2026-11-26; some on another CPU)'
        seen[k] = seen.get(k, 0) + 1
    return sorted(seen.items(), key=lambda kv: -kv[1])

def read_error(results:list, rows:list, contestants=CONTESTANTS) -> dict:
    "How far reading a pick off the grid (linear in log-LR) is from training at it: median and 90th percentile of the absolute regret difference"
    read = {(r['contestant'], r['task'], r['seed']): r['loss_regret'] for r in score_all(results, contestants, read=True)['rows'] if not r['trained']}
    d = [abs(read[k] - r['loss_regret']) for r in rows if (k := (r['contestant'], r['task'], r['seed'])) in read
         and math.isfinite(read[k]) and math.isfinite(r['loss_regret'])]
    if not d: return dict(n=0, median=math.nan, p90=math.nan, worst=math.nan)
    return dict(n=len(d), median=float(np.median(d)), p90=float(np.percentile(d, 90)), worst=float(max(d)))

def _sweep(results:list, rows:list, shown:tuple) -> list:
    "Per task of a family trained at several budgets: plan, oracle LR and the median picks of the contestants `shown`"
    by_tf = by(rows, 'task', 'contestant')
    fams = by(results, 'family')
    out = []
    for fam, ress in fams.items():
        if len(ress) < 2: continue
        for res in sorted(ress, key=lambda r: r['epochs']):
            run0 = res['runs'][0]
            pick = lambda c: float(np.median([r['lr'] for r in by_tf[(res['task'], c)]]))
            out.append(dict(family=fam, task=res['task'], schedule=res['schedule'], epochs=res['epochs'],
                            steps=fit_steps(res['epochs'], run0['steps_per_epoch'], res['schedule']),
                            oracle=[oracle(r['grid'])['lr'] for r in res['runs']],
                            picks={c: pick(c) for c in shown}))
    return out

def _autolr_cost(results:list, at:tuple) -> list:
    "Per task: seconds of the fit at fastai's default LR and of the same fit with `AutoLR` (its fit's record at `at`), and the test length"
    out = []
    for res in results:
        a = [record(r, at) for r in res['runs']]
        plain, auto = float(np.median([x['plain_secs'] for x in a])), float(np.median([x['secs'] for x in a]))
        out.append(dict(task=res['task'], epochs=res['epochs'], steps=a[0]['steps'], num_it=a[0]['num_it'],
                        discriminative=any(r is not None for r in a[0]['ratios']), plain_secs=plain, autolr_secs=auto, ratio=auto / plain))
    return out

def collect(plan:list, work, contestants=CONTESTANTS) -> list:
    "The results of every task of `plan` from `work`; a `ValueError` naming the first task that lacks a unit"
    results = []
    for bt in plan:
        res = collect_task(bt, work, contestants)
        if res is None: raise ValueError(f"{bt.name}: not every unit is in {work}; run `python -m bench` to train what is missing")
        results.append(res)
    return results

def versus_pairs(contestants=CONTESTANTS) -> list:
    "`[(a, b)]`: the paired comparisons the registry asks for (each contestant's `versus`), grouped by `b` in order of first mention"
    bs = dict.fromkeys(b for c in contestants.values() for b in c.versus if b in contestants)
    return [(c.name, b) for b in bs for c in contestants.values() if b in c.versus]

def short_tests(results:list) -> dict:
    "`planned`'s leave-one-family-out stats when it reads stock range tests of 25, 50 and 100 steps, constants refitted for each"
    runs, out = flat_runs(results), {}
    for n in (*sorted(results[0]['runs'][0]['short'], key=int), 100):
        key = '' if n == 100 else f'short{n}'
        if key:
            for r in runs: r[key] = dict(r['short'][n], steps=run_steps(r), final_frac=final_frac(r))
        out[int(n)] = stats(lofo_rows(Planned('planned', curve_key=key), runs)[0])
    return out

RTOL, ATOL = 1e-6, 1e-9
"How closely a number recomputed on another CPU must match the shipped one: float sums run in another order there"

def close(a, b, rtol:float=RTOL, atol:float=ATOL) -> bool:
    "Whether `a` and `b` agree: numbers within `rtol`/`atol` (NaNs and infinities equal to themselves), anything else exactly, recursively"
    if isinstance(a, dict) and isinstance(b, dict): return a.keys() == b.keys() and all(close(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)): return len(a) == len(b) and all(close(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, (int, float)) and isinstance(b, (int, float))): return a == b
    return bool(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True))

def rows_differ(rows:list, expected:list) -> list:
    "The keys `(contestant, task, seed)` whose rows differ beyond `close`, or that one side lacks"
    key = lambda r: (r['contestant'], r['task'], r['seed'])
    a, b = {key(r): r for r in rows}, {key(r): r for r in expected}
    return sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or not close(a[k], b[k]))

def build_report(mode:str, results:list, work, cost:bool=True, out=None, contestants=CONTESTANTS) -> dict:
    "Score the tasks' `results` for the registry `contestants` and write the report: environment, tasks, rows, summaries with intervals, constants, sweep and cost"
    cost_fn = Path(work)/'cost.json'
    if cost and not cost_fn.exists():
        from .cost import measure_cost
        save_json(measure_cost(widths=(16,) if mode == 'quick' else (16, 128), repeats=1 if mode == 'quick' else 3), cost_fn)
    ordered = sorted(contestants.values(), key=lambda c: GROUPS.index(c.group))  # the tables' order
    names = lambda group: [c.name for c in ordered if c.group == group]
    report = dict(mode=mode, environment=environment(), contestants=[c.name for c in ordered if c.group != 'reference'],
                  peers=names('peer'), alternatives=names('alternative'), how={c.name: c.how for c in ordered},
                  groups={c.name: c.group for c in ordered}, cost=read_json(cost_fn) if cost_fn.exists() else [])
    if results:
        scored = score_all(results, contestants)
        rows = scored['rows'] + reference_rows(results, contestants)
        overall = {c: summary(rs) for c, rs in by(rows, 'contestant').items()}
        peer = best_of(overall, names('peer'))
        report.update(
            tasks={r['task']: {k: v for k, v in r.items() if k != 'runs'} | dict(steps_per_epoch=r['runs'][0]['steps_per_epoch'],
                                                                               oracle_lrs=[oracle(x['grid'])['lr'] for x in r['runs']])
                   for r in results},
            overall=overall, best_peer=peer,
            versus_peer={c: paired(rows, c, peer) for c in overall if c != peer and c not in names('reference')},
            versus={f'{a} vs {b}': paired(rows, a, b) for a, b in versus_pairs(contestants)},
            per_family={c: {f: stats(x) for f, x in by(rs, 'family').items()} for c, rs in by(rows, 'contestant').items()},
            constants=scored['constants'], sweep=_sweep(results, rows, tuple(c.name for c in ordered if 'sweep' in c.shown)),
            autolr_cost=_autolr_cost(results, contestants['AutoLR'].fit.at) if 'AutoLR' in contestants else [],
            short_tests=short_tests(results), read_error=read_error(results, rows, contestants),
            measured_on=measured_on(results, contestants), rows=rows, raw=[_slim(r) for r in results])
    if out: save_json(report, out)
    return report

def _fmt(v, digits=2):
    "`v` for a table cell: '-' for None and NaN, 'inf', or `digits` decimals"
    if v is None or (isinstance(v, float) and math.isnan(v)): return '-'
    if isinstance(v, float) and math.isinf(v): return 'inf'
    return f'{v:.{digits}f}' if isinstance(v, float) else str(v)

def _order(report) -> list:
    "Contestants in table order (peers, alternatives, fastlrx, then the references), as the report lists them"
    return [c for c in report['how'] if c in report['overall']]

def regret_table(report:dict) -> str:
    "Markdown: every contestant trained at its own pick: regret median, 90th percentile and worst, the worst pick's distance from the oracle, and the paired comparison with the best peer"
    peer = report['best_peer']
    head = (f'| contestant | LR from | median | 90th pct | worst | worst, decades | median of families | diverged / no LR | '
            f'vs {peer}: wins-losses-ties | median diff [95% CI] | |\n|---|---|---|---|---|---|---|---|---|---|---|')
    rows = []
    for c in _order(report):
        s, p = report['overall'][c], report['versus_peer'].get(c)
        vs = (f"{p['wins']}-{p['losses']}-{p['ties']} | {p['diff']:+.2f} [{p['lo']:+.2f}, {p['hi']:+.2f}] | {verdict(p)}"
              if p else f"- | - | {'the best peer' if c == peer else 'reference'}")
        rows.append(f"| {c} | {report['how'][c]} | {_fmt(s['median'])} | {_fmt(s['p90'])} | {_fmt(s['worst'])} | "
                    f"{_fmt(s['worst_decades'])} | {_fmt(s['family_median'])} | {s['diverged']} / {s['failed']} | {vs} |")
    return '\n'.join([head, *rows])

def versus_table(report:dict) -> str:
    "Markdown: the comparisons the text makes, paired on shared range-test curves, with family-clustered intervals"
    head = '| comparison | curves | families | wins-losses-ties | median diff | 95% CI | verdict |\n|---|---|---|---|---|---|---|'
    return '\n'.join([head, *(f"| {k} | {p['units']} | {p['families']} | {p['wins']}-{p['losses']}-{p['ties']} | {p['diff']:+.3f} | "
                               f"[{p['lo']:+.3f}, {p['hi']:+.3f}] | {verdict(p)} |" for k, p in report['versus'].items())])

def measured_table(report:dict) -> str:
    "Markdown: the machines and dates the units were measured on"
    return '| measured on | units |\n|---|---|\n' + '\n'.join(f'| {k} | {n} |' for k, n in report['measured_on'])

def family_table(report:dict, key:str='median') -> str:
    "Markdown: one row per family, one column per contestant, the `key` ('median' or 'worst') loss regret"
    cs = _order(report)
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

def short_tests_table(report:dict) -> str:
    "Markdown: `planned` read off stock range tests of each length, leave-one-family-out"
    head = '| range-test steps | median regret (read off the grid) | worst | metric median | metric worst |\n|---|---|---|---|---|'
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
    "What the tables were computed on: tasks, families, seeds, curves, and how regret is measured"
    n = sum(len(i['seeds']) for i in report['tasks'].values())
    fams = len({i['family'] for i in report['tasks'].values()})
    units = len({r['unit'] for r in report['rows']})
    return (f"*{len(report['tasks'])} tasks in {fams} families, {n} task-seed pairs sharing {units} distinct range-test curves, "
            f"{report['mode']} run. Every contestant is trained at its own pick; {LOSS_FLOOR_TEXT}. Intervals: {BOOT} "
            f"bootstrap resamples of the families, pairs that share a curve averaged first. Report built with "
            f"{environment_line(report['environment'])}.*")

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
        print(f"### Every contestant, trained at its own pick\n\n{computed_on(report)}\n\n{regret_table(report)}\n")
        print(f"### Paired comparisons\n\n{versus_table(report)}\n")
        e = report['read_error']
        print(f"Reading a pick off the grid instead of training it is off by a median {e['median']:.3f} in regret "
              f"(90th percentile {e['p90']:.3f}, worst {e['worst']:.2f}, {e['n']} rows).\n")
        print(f"### Median regret per family\n\n{family_table(report)}\n")
        print(f"### Worst regret per family\n\n{family_table(report, 'worst')}\n")
        print(f"### Budget sweep\n\n{sweep_table(report)}\n")
        print(f"### Constants\n\n{constants_table(report)}\n")
        print(f"### The cost of AutoLR\n\n{autolr_cost_table(report)}\n")
        print(f"### Shorter range tests (planned, leave-one-family-out, read off the grid)\n\n{short_tests_table(report)}\n")
        print(f"### Where the units were measured\n\n{measured_table(report)}\n")
    if report['cost']: print(f"### What one range test costs\n\n{cost_table(report['cost'])}")
