"""The fastlrx benchmark: regret against a grid oracle on real tasks in families, every fitted rule scored leave one
family out, against fastai's rules, torch-lr-finder, Lightning, fastai's default LRs, Prodigy and Schedule-Free AdamW;
and what the finder and `AutoLR` cost. Not part of the fastlrx package; run it from the repository root with
`python -m bench [--quick]`, then `python -m bench.search` for the search that asks the fit. DEVELOPERS.md lists its
modules.

A task is one declaration in `bench.tasks.TASKS`: its learner factory (data, model, loss, metric, optimizer),
schedule, epochs, family, grid and suite ('suite', or 'long' for the search's long fits). The plans read its grid:

    Task('iris_mlp', iris_learner, 'one_cycle', 5, 'iris_mlp', grid=(1e-4, 1),   # iris_learner(seed) -> Learner
         desc="sklearn iris, MLP 4-50-3, Adam, cross-entropy, bs 16, fit_one_cycle(5, lr)")
    _mlp('digits_mlp_12ep', 12)   # another budget of a family: its helper holds what the family shares

A contestant is one declaration in `bench.contestants.CONTESTANTS`: its name, group ('peer', 'alternative', 'fastlrx'
or 'reference'), how its LR is obtained in words (the tables' *LR from*), and how it runs; every unit, score, table
and page reads it from there:

    Contestant('my_rule', 'peer', 'its rule (mine)', pick=partial(rule_pick, my_rule))   # read off the stock range test
    Contestant('my_tuned', 'fastlrx', 'leave-one-family-out', tuned=Tuned('my_tuned', pick, grid))  # constants chosen without the family
    Contestant('adan', 'alternative', 'its defaults', fit=alternative('adan', train_adan))      # its own fit, unit `alt_s<seed>_adan`

Then `python -m bench` trains only what the shipped results lack. To try one without touching the modules, pass new
registries: `TASKS.plus(task)`, `CONTESTANTS.plus(contestant)` (or `.only(...)`) to `run_unit`, `collect`,
`pick_units`, `build_report` and friends; `tests/test_bench.py` does it with a toy task."""
