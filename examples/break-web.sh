#!/usr/bin/env bash
# Break the example stack and watch Paceline repair it. Run `paceline run examples/web.yaml` in
# another terminal first (same PACELINE_STATE_DIR / --state-dir as here).
#
#   examples/break-web.sh          kill -9 the web service once, show the recovery
#   examples/break-web.sh 3        kill it until its fail count is 3 (counting earlier failures
#                                  too): that is its migration-threshold, so Paceline gives up on
#                                  this node, stops worker then web, and says why
#   paceline resource cleanup web  forget the failures and start again
set -euo pipefail
STATE_DIR="${PACELINE_STATE_DIR:-/var/lib/paceline}"
target="${1:-}"

failcount() {
  paceline status --json --state-dir "$STATE_DIR" |
    python3 -c 'import json,sys; print(next(r["failcount"] for r in json.load(sys.stdin)["resources"] if r["id"] == "web"))'
}

attempt=0
while :; do
  count=$(failcount)
  if [ -n "$target" ] && [ "$count" -ge "$target" ]; then
    echo "web's fail count is $count (target $target)"
    break
  fi
  if [ -z "$target" ] && [ "$attempt" -ge 1 ]; then
    break
  fi
  pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
        "$STATE_DIR/agents/services/web.json" 2>/dev/null) || { echo "web is not running"; break; }
  attempt=$((attempt + 1))
  echo "kill -9 $pid (web), attempt $attempt; fail count before: $count"
  t0=$(date +%s.%N)
  kill -9 "$pid"
  for _ in $(seq 1 200); do
    if curl -fs -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then
      printf 'web answers again after %.0f ms\n' "$(echo "($(date +%s.%N) - $t0) * 1000" | bc)"
      break
    fi
    sleep 0.01
  done
  sleep 1
done
paceline status --state-dir "$STATE_DIR"
paceline events --state-dir "$STATE_DIR" -n 10
