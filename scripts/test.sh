#!/usr/bin/env bash
# Everything `make test` runs after setup and the knowledge-base check: train the model once
# (skipped when its inputs are unchanged), then every test. Rasa's own output goes to var/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore PYTHONPATH="$PWD"
start=$(date +%s)
scripts/train.sh
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
code=$?
set -e
echo "test: finished in $(( $(date +%s) - start ))s"
if [ "$code" -eq 5 ]; then echo "test: pytest collected no tests; that is a failure here"; exit 1; fi
exit "$code"
