#!/usr/bin/env bash
# The scaled profile on one machine: conversations in PostgreSQL, Rasa's lock in Redis, two or
# more Rasa replicas, two action servers, and nginx in front. nginx sends every request of one
# conversation (its cookie) to the same web server, and each web server talks to its own Rasa
# replica, so a conversation stays on one replica; the shared tracker store and lock keep it
# right even when a replica is replaced. Ctrl-C stops everything it started.
#
#   make scaled                       # http://127.0.0.1:8100/
#   RASA_REPLICAS=3 make scaled
# Settings (environment): SCALED_PORT (8100), RASA_REPLICAS (2), ACTION_REPLICAS (2),
# TRACKER_DB_URL (postgresql://postgres@127.0.0.1:5432/mutuals), LOCK_STORE_URL
# (redis://127.0.0.1:6379/1), SCALED_DIR (var/scaled), SCALED_BASE_PORT (first internal port, 18000).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore PYTHONPATH="$PWD"
FRONT=${SCALED_PORT:-8100}
RASA_N=${RASA_REPLICAS:-2}
ACTION_N=${ACTION_REPLICAS:-2}
BASE=${SCALED_BASE_PORT:-18000}
DIR=${SCALED_DIR:-$PWD/var/scaled}
export TRACKER_DB_URL=${TRACKER_DB_URL:-postgresql://postgres@127.0.0.1:5432/mutuals}
export LOCK_STORE_URL=${LOCK_STORE_URL:-redis://127.0.0.1:6379/1}
MODEL=${MODEL:-models/current.tar.gz}
PY=.venv/bin/python
mkdir -p "$DIR"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "scaled: installing nginx (Debian package; log in $DIR/apt.log)"
    apt-get install -y nginx > "$DIR/apt.log" 2>&1 || { echo "scaled: apt-get install nginx failed; see $DIR/apt.log"; exit 1; }
  else
    echo "scaled: nginx is not installed. Install it with: sudo apt-get install -y nginx"; exit 1
  fi
fi
# Both stores must be up before anything starts; say how to start them if not.
$PY - <<'EOF' || exit 1
import os, sys
import redis, sqlalchemy as sa
from urllib.parse import urlsplit
url = os.environ["TRACKER_DB_URL"]
try:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            print(f"scaled: created database {name}")
except Exception as exc:
    sys.exit(f"scaled: PostgreSQL not reachable at {url} ({exc.__class__.__name__}). Start it with: "
             "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
lock = urlsplit(os.environ["LOCK_STORE_URL"])
try:
    redis.Redis(host=lock.hostname, port=lock.port or 6379, socket_timeout=3).ping()
except Exception as exc:
    sys.exit(f"scaled: Redis not reachable at {os.environ['LOCK_STORE_URL']} ({exc.__class__.__name__}). Start it with: "
             "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no")
EOF

pids=()
stop() { trap - INT TERM EXIT; echo; echo "scaled: stopping"; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT
ACTION_LB=$BASE
action_servers="" web_servers=""
for i in $(seq 1 "$ACTION_N"); do
  port=$((BASE + i))
  SANIC_HOST=127.0.0.1 $PY -m rasa_sdk --actions actions --port "$port" > "$DIR/actions-$i.log" 2>&1 &
  pids+=($!)
  action_servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
done
# Rasa calls the action servers through nginx (round robin, a dead one is skipped).
$PY -m bot endpoints --action-url "http://127.0.0.1:$ACTION_LB/webhook" --out "$DIR/endpoints.yml"
for i in $(seq 1 "$RASA_N"); do
  rport=$((BASE + 100 + i)) wport=$((BASE + 200 + i))
  $PY -m bot.rasa_launch run --model "$MODEL" --endpoints "$DIR/endpoints.yml" --credentials credentials.yml \
    -i 127.0.0.1 --port "$rport" > "$DIR/rasa-$i.log" 2>&1 &
  pids+=($!)
  $PY -m bot.web.server --port "$wport" --rasa "http://127.0.0.1:$rport" > "$DIR/web-$i.log" 2>&1 &
  pids+=($!)
  web_servers+="    server 127.0.0.1:$wport;"$'\n'
done
cat > "$DIR/nginx.conf" <<EOF
# Written by scripts/scaled.sh; deploy/nginx-front.conf and deploy/nginx-actions.conf are the deployment versions.
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path $DIR/tmp-body;
  proxy_temp_path $DIR/tmp-proxy;
  fastcgi_temp_path $DIR/tmp-fastcgi;
  uwsgi_temp_path $DIR/tmp-uwsgi;
  scgi_temp_path $DIR/tmp-scgi;
  log_format route '\$cookie_mutuals_sid \$upstream_addr \$status \$request_uri';
  access_log $DIR/nginx-access.log route;
  client_body_timeout 10s;
  proxy_read_timeout 30s;
  server_tokens off;
  # One conversation, one web server (and so one Rasa replica): hash on the conversation cookie.
  upstream web {
    hash \$cookie_mutuals_sid consistent;
$web_servers  }
  upstream actions {
$action_servers  }
  server {
    listen 127.0.0.1:$FRONT;
    client_max_body_size 16k;  # a chat message; the web server caps it again
    proxy_request_buffering off;
    proxy_buffering off;
    location / {
      proxy_pass http://web;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
  server {
    listen 127.0.0.1:$ACTION_LB;
    client_max_body_size 20m;  # Rasa sends the whole conversation to the action server
    # Stream bodies both ways: no temporary files (nginx's workers may not write to $DIR).
    proxy_request_buffering off;
    proxy_buffering off;
    location / { proxy_pass http://actions; proxy_next_upstream error timeout; proxy_read_timeout 5s; }
  }
}
EOF
"$NGINX" -t -q -c "$DIR/nginx.conf" -p "$DIR" -e "$DIR/nginx-error.log"
"$NGINX" -c "$DIR/nginx.conf" -p "$DIR" -e "$DIR/nginx-error.log" -g 'daemon off;' &
pids+=($!)

echo "scaled: starting $RASA_N Rasa replicas and $ACTION_N action servers (about a minute)"
for _ in $(seq 1 300); do
  ready=1
  for i in $(seq 1 "$RASA_N"); do curl -fs "http://127.0.0.1:$((BASE + 100 + i))/" >/dev/null || ready=0; done
  curl -fs "http://127.0.0.1:$FRONT/" >/dev/null || ready=0
  if [ "$ready" = 1 ]; then
    # The first message to a replica builds its graph and the first action call builds the
    # matcher (seconds each): do that now, not on a user's first question, then forget it.
    for i in $(seq 1 "$RASA_N"); do
      for j in $(seq 1 "$ACTION_N"); do
        curl -fs -m 180 -H 'Content-Type: application/json' -d "{\"sender\": \"warm-up-$i-$j\", \"message\": \"what is tupe\"}" \
          "http://127.0.0.1:$((BASE + 100 + i))/webhooks/rest/webhook" >/dev/null || true
        $PY -m bot logs delete "warm-up-$i-$j" >/dev/null || true
      done
    done
    echo "scaled: ready. Open the chat at http://127.0.0.1:$FRONT/  (Ctrl-C to stop; logs in $DIR)"
    wait -n "${pids[@]}" || true
    echo "scaled: a process stopped; see $DIR/*.log"; exit 1
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "scaled: a process failed to start; see $DIR/*.log"; tail -3 "$DIR"/*.log; exit 1; }
  done
  sleep 1
done
echo "scaled: timed out waiting for the servers; see $DIR/*.log"; exit 1
