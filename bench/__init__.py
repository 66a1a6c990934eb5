"""The fastlrx benchmark: regret against a grid oracle on real tasks in families, every fitted rule scored leave one
family out, against fastai's rules, torch-lr-finder, Lightning, fastai's default LRs, Prodigy and Schedule-Free AdamW;
and what the finder and `AutoLR` cost. Not part of the fastlrx package; run it from the repository root with
`python -m bench [--quick]`, then `python -m bench.search` for the search that asks the fit. DEVELOPERS.md lists its
modules."""
