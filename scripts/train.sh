#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed since the last model.
# Inputs: config.yml, domain.yml, bot/nlu_moves.py and bot/nlu_neighbours.py (pipeline components), bot/embed.py (the encoder whose vectors the model stores), data/, and faq/*.yml (not faq/out_of_scope.yml or faq/examples.yml, which only the matcher and bot.oos read): every entry's question and alternates
# become NLU examples of its topic intent (var/nlu/kb_nlu.yml, made by `python -m bot nlu-export`).
# Usage: scripts/train.sh [model-name]   (default: current). Output goes to var/train-NAME.log.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-current}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
mkdir -p models var
hash=$(cat config.yml domain.yml bot/nlu_moves.py bot/nlu_neighbours.py bot/embed.py $(find data faq -type f -name '*.yml' ! -name out_of_scope.yml ! -name examples.yml | sort) | sha256sum | cut -c1-16)
if [ -f "models/$name.tar.gz" ] && [ "$(cat "models/$name.hash" 2>/dev/null)" = "$hash" ]; then
  echo "train: model models/$name.tar.gz is up to date"
  exit 0
fi
echo "train: training models/$name.tar.gz (about 2 minutes on 2 cores; log in var/train-$name.log)"
start=$(date +%s)
.venv/bin/python -m bot nlu-export --out var/nlu/kb_nlu.yml
if ! .venv/bin/rasa train --data data var/nlu --fixed-model-name "$name" --out models > "var/train-$name.log" 2>&1; then
  echo "train: FAILED; last lines of var/train-$name.log:"; tail -30 "var/train-$name.log"; exit 1
fi
echo "$hash" > "models/$name.hash"
echo "train: done in $(( $(date +%s) - start ))s"
