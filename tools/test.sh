#!/usr/bin/env bash
# Every test: the notebooks (nbdev-test) and tests/ (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
# The real pets sample beside the project, unless FASTLRX_PETS already points somewhere.
sample=../shared/data/oxford-pets-sample
if [ -z "${FASTLRX_PETS:-}" ] && [ -d "$sample/images" ]; then export FASTLRX_PETS="$(cd "$sample" && pwd)"; fi
export MPLBACKEND=Agg
# nbdev-test runs notebooks side by side; one torch thread each avoids oversubscribing the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
nbdev-test
python -m pytest tests
