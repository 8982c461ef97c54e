#!/usr/bin/env bash
# How long `make run` takes to be ready: seconds until its banner (URLs and tokens) and until
# the gateway's /readyz answers 200, and the CPU seconds its processes used until then; then
# SIGTERM. Run it twice: the first start migrates and seeds, the second should not.
#   bench/make_run.sh [port-base]     (default 19300: gateway, +1..+3 services, +4 SMTP)
# Uses the working tree's var/ like `make run` does.
set -uo pipefail
base=${1:-19300}
export GATEWAY_PORT=$base TRAINING_PORT=$((base + 1)) COACHING_PORT=$((base + 2)) INCIDENTS_PORT=$((base + 3))
export GATEWAY_PUBLIC_URL=http://127.0.0.1:$base GATEWAY_SMTP_PORT=$((base + 4))
export GATEWAY_TRAINING_URL=http://127.0.0.1:$TRAINING_PORT GATEWAY_COACHING_URL=http://127.0.0.1:$COACHING_PORT
export GATEWAY_INCIDENTS_URL=http://127.0.0.1:$INCIDENTS_PORT
export TRAINING_GATEWAY_URL=$GATEWAY_PUBLIC_URL COACHING_GATEWAY_URL=$GATEWAY_PUBLIC_URL INCIDENTS_GATEWAY_URL=$GATEWAY_PUBLIC_URL
log=$(mktemp)
start=$(date +%s.%N)
setsid make run >"$log" 2>&1 &
session=$!
since() { echo "$(date +%s.%N) - $start" | bc; }
banner="" ready=""
while [ -z "$banner" ] || [ -z "$ready" ]; do
  [ -z "$banner" ] && grep -q "Ctrl-C stops everything" "$log" && banner=$(since)
  [ -z "$ready" ] && curl -sf -o /dev/null "http://127.0.0.1:$base/readyz" && ready=$(since)
  kill -0 "$session" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
cpu=$(python3 - "$session" <<'PY'
import os, sys
children, cpu = {}, {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu[int(pid)] = sum(map(int, fields[11:15])) / os.sysconf("SC_CLK_TCK")
    children.setdefault(int(fields[1]), []).append(int(pid))
total, todo = 0.0, [int(sys.argv[1])]
while todo:
    pid = todo.pop()
    total += cpu.get(pid, 0.0)
    todo += children.get(pid, [])
print(f"{total:.1f}")
PY
)
grep -E "up to date|migrating and seeding|databases ready|Ready in" "$log"
echo "banner after ${banner} s, /readyz 200 after ${ready} s, ${cpu} CPU s; load $(cut -d' ' -f1 /proc/loadavg)"
kill -TERM -- -"$session"
wait "$session" 2>/dev/null
rm -f "$log"
