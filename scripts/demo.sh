#!/usr/bin/env bash
# The local demo: a two-silo OrleansLlm cluster enriching the 44 biggest cities of data/worldcities.csv.
# Needs only the .NET SDK; installs and starts Redis if none answers on localhost:6379. Each silo gets its own
# Ollama simulator, unless a real Ollama answers on localhost:11434. Ctrl-C stops everything cleanly.
#   bash scripts/demo.sh          run, show the results, keep the cluster up until Ctrl-C
#   bash scripts/demo.sh --once   run, show the results, stop
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state="$root/.demo"
mkdir -p "$state"
once=false; [ "${1:-}" = "--once" ] && once=true
pids=()
started_redis=false

log() { if [ -t 2 ]; then printf '\033[1mdemo:\033[0m %s\n' "$*" >&2; else printf 'demo: %s\n' "$*" >&2; fi; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

cleanup() {
  trap - EXIT INT TERM
  log "stopping the cluster (the silos drain first)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $started_redis; then redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true; fi
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Redis
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  log "starting redis-server on localhost:6379"
  redis-server --port 6379 --bind 127.0.0.1 --dir "$state" --save '' --appendonly no --daemonize yes --logfile "$state/redis.log"
  started_redis=true
  for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# 2. Build once, then run the built programs (faster and quieter than dotnet run).
log "building"
dotnet build OrleansLlm.sln -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
bin() { echo "$root/src/$1/bin/Release/net10.0/$2"; }
client=(dotnet "$(bin Cli orleansllm.dll)")

# 3. Ollama: a real one if it answers, else one simulator per silo.
if curl -fsS -m 2 http://localhost:11434/api/version >/dev/null 2>&1 && ! curl -fsS -m 2 http://localhost:11434/sim/stats >/dev/null 2>&1; then
  log "a real Ollama answers on localhost:11434: both silos use it"
  ollama_urls=(http://localhost:11434 http://localhost:11434)
else
  ollama_urls=(http://127.0.0.1:11501 http://127.0.0.1:11502)
  for i in 0 1; do
    dotnet "$(bin OllamaSim OllamaSim.dll)" --urls "${ollama_urls[$i]}" --parallel 2 --time-scale 0.05 >"$state/ollama-$((i + 1)).log" 2>&1 &
    pids+=($!)
  done
  log "started two Ollama simulators (2 slots each, 20x faster than a CPU): ${ollama_urls[*]}"
fi

# 4. Two silos, each beside its own Ollama.
for i in 0 1; do
  ASPNETCORE_URLS="http://127.0.0.1:$((5001 + i))" \
  Orleans__SiloPort=$((11111 + i)) Orleans__GatewayPort=$((30000 + i)) \
  Ollama__Url="${ollama_urls[$i]}" Worker__DrainTimeout=00:00:20 \
    dotnet "$(bin Silo OrleansLlm.Silo.dll)" >"$state/silo-$((i + 1)).log" 2>&1 &
  pids+=($!)
done
log "starting two silos (logs in .demo/); dashboard: http://127.0.0.1:5001/dashboard"
for port in 5001 5002; do
  for attempt in $(seq 120); do
    curl -fsS -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    [ "$attempt" -eq 120 ] && { log "silo on port $port did not become ready; see .demo/silo-*.log"; exit 1; }
    sleep 0.5
  done
done
log "cluster ready"

# 5. The job: the 44 cities with at least 10 million people.
start=$(date +%s%N)
batch=$("${client[@]}" submit data/worldcities.csv --min-population 10000000 --wait)
end=$(date +%s%N)
"${client[@]}" results "$batch" --format table
ms=$(( (end - start) / 1000000 ))
log "batch $batch: 44 cities enriched in $((ms / 1000)).$(( (ms % 1000) / 100 )) s"

if $once; then exit 0; fi
cat >&2 <<EOT

The cluster keeps running. Try, in another terminal:
  redis-cli RPUSH cities '{"city":"Lyon","country":"France","id":"demo-lyon"}'
  dotnet src/Cli/bin/Release/net10.0/orleansllm.dll results default --format table
  dotnet src/Cli/bin/Release/net10.0/orleansllm.dll status
Dashboard: http://127.0.0.1:5001/dashboard    Press Ctrl-C to stop.
EOT
# Waiting on a background sleep keeps the script interruptible: the trap runs at once on Ctrl-C or SIGTERM.
sleep infinity &
pids+=($!)
wait $!
