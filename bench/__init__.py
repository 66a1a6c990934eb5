"""The fastlrx benchmark: regret against a grid oracle on real tasks, fastai's rules, torch-lr-finder and Lightning side
by side, and what the finder costs. Not part of the fastlrx package; run it from the repository root with
`python -m bench [--quick]`. Modules: `tasks` (tasks and grid oracle), `plan`, `peers`, `contestants`, `score` (the one
regret), `run`, `cost`, `store` (JSON and the shipped `results/`), `report` (tables and plot)."""
