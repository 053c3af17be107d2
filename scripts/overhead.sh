#!/usr/bin/env bash
# First per-item overhead figure: items/s through N silos when Ollama costs nothing (simulator at --time-scale 0).
# Usage: bash scripts/overhead.sh [SILOS=1] [ITEMS=20000] [CONCURRENCY=16]
# Uses its own redis-server on port 6399 and ports 52xx/116xx/301xx, so it does not disturb the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
silos=${1:-1}; items=${2:-20000}; conc=${3:-16}
state=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null; redis-cli -p 6399 shutdown nosave >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
dotnet build OrleansLlm.sln -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$state" --logfile "$state/redis.log"
for _ in $(seq 50); do redis-cli -p 6399 ping >/dev/null 2>&1 && break; sleep 0.1; done
export Redis__ConnectionString=127.0.0.1:6399 Orleans__ClusterId=overhead-$$
for i in $(seq 0 $((silos - 1))); do
  dotnet src/OllamaSim/bin/Release/net10.0/OllamaSim.dll --urls "http://127.0.0.1:$((11600 + i))" --parallel "$conc" --time-scale 0 >"$state/sim-$i.log" 2>&1 &
  pids+=($!)
  ASPNETCORE_URLS="http://127.0.0.1:$((5200 + i))" Orleans__SiloPort=$((11700 + i)) Orleans__GatewayPort=$((30100 + i)) \
    Ollama__Url="http://127.0.0.1:$((11600 + i))" Worker__MaxConcurrency="$conc" Logging__LogLevel__Default=${LOGLEVEL:-Warning} \
    dotnet src/Silo/bin/Release/net10.0/OrleansLlm.Silo.dll >"$state/silo-$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 0 $((silos - 1))); do
  for _ in $(seq 120); do curl -fsS -m 2 "http://127.0.0.1:$((5200 + i))/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
done
start=$(date +%s%N)
dotnet src/Cli/bin/Release/net10.0/orleansllm.dll submit data/worldcities.csv --limit "$items" --wait 2>&1 >/dev/null | grep -v -e "^   at" -e "End of stack" | tail -5
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
echo "silos=$silos items=$items concurrency=$conc: ${ms} ms, $(( items * 1000 / ms )) items/s (submit + process + wait)"
