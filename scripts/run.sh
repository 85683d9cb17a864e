#!/usr/bin/env bash
# Start the action server, Rasa and the web server (staff chat, operator and review consoles) on
# 127.0.0.1, wait until they answer, and print the chat and operator URLs. Ctrl-C stops all
# three. Logs: var/actions.log, var/rasa.log, var/web.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore PYTHONPATH="$PWD"
export ACTION_PORT=${ACTION_PORT:-5055} RASA_PORT=${RASA_PORT:-5005} WEB_PORT=${WEB_PORT:-8000}
# Conversations: SQLite under var/ unless TRACKER_DB_URL names another store (postgresql://...).
export TRACKER_DB=${TRACKER_DB:-$PWD/var/tracker.db}
export RASA_URL="http://127.0.0.1:$RASA_PORT"
MODEL=${MODEL:-models/current.tar.gz}
mkdir -p var
# Rasa does not expand ${VAR} inside a URL, so write the endpoints for these ports and store.
.venv/bin/python -m bot endpoints --action-url "http://127.0.0.1:$ACTION_PORT/webhook" --out "var/endpoints-$RASA_PORT.yml"
pids=()
stop() { trap - INT TERM EXIT; echo; echo "run: stopping"; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

# rasa-sdk binds to SANIC_HOST (0.0.0.0 by default): keep it on loopback.
SANIC_HOST=127.0.0.1 .venv/bin/python -m rasa_sdk --actions actions --port "$ACTION_PORT" > var/actions.log 2>&1 &
pids+=($!)
# -i binds Rasa to loopback only. Its HTTP API (which can read and rewrite any conversation)
# stays off unless RASA_API_TOKEN is set, and then it demands that token.
api=()
if [ -n "${RASA_API_TOKEN:-}" ]; then api=(--enable-api --auth-token "$RASA_API_TOKEN"); fi
.venv/bin/python -m bot.rasa_launch run --model "$MODEL" --endpoints "var/endpoints-$RASA_PORT.yml" --credentials credentials.yml \
  -i 127.0.0.1 --port "$RASA_PORT" "${api[@]}" > var/rasa.log 2>&1 &
pids+=($!)
.venv/bin/python -m bot.web.server --port "$WEB_PORT" --rasa "$RASA_URL" > var/web.log 2>&1 &
pids+=($!)

echo "run: starting (the model takes about 30 seconds to load)"
for _ in $(seq 1 180); do
  if curl -fs "http://127.0.0.1:$RASA_PORT/" >/dev/null && curl -fs "http://127.0.0.1:$WEB_PORT/" >/dev/null; then
    echo "run: ready. Open the chat at http://127.0.0.1:$WEB_PORT/  (Ctrl-C to stop)"
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB_PORT/operator/login")" = 200 ]; then
      echo "run: operator console at http://127.0.0.1:$WEB_PORT/operator"
    else
      echo "run: operator console is off: set OPERATOR_USERNAME and OPERATOR_PASSWORD (or OPERATOR_PASSWORD_HASH) or put them in var/secrets.env"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB_PORT/review/login")" = 200 ]; then
      echo "run: review console at http://127.0.0.1:$WEB_PORT/review"
    else
      echo "run: review console is off: set REVIEWER_USERNAME and REVIEWER_PASSWORD (or REVIEWER_PASSWORD_HASH) or put them in var/secrets.env"
    fi
    wait -n "${pids[@]}" || true
    echo "run: a process stopped; see var/*.log"; exit 1
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "run: a process failed to start; last lines of the logs:"; tail -5 var/actions.log var/rasa.log var/web.log; exit 1; }
  done
  sleep 1
done
echo "run: timed out waiting for the servers; see var/*.log"; exit 1
