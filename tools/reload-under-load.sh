#!/usr/bin/env bash
# Reload under load: dnsperf queries a running swivel while the configuration is reloaded
# over the control API again and again; prints dnsperf's summary (queries sent, lost,
# latency) and the reload count. Usage: tools/reload-under-load.sh [RECORDS] [SECONDS] [RELOADS]
set -euo pipefail
records=${1:-100000}
seconds=${2:-10}
reloads=${3:-10}
cd "$(dirname "$0")/.."
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install dnsperf)" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/swivel
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
dns_port=${DNS_PORT:-5391}
control_port=${CONTROL_PORT:-5392}

{
  echo '$ORIGIN big.test.'
  echo '$TTL 300'
  echo '@ SOA ns1 hostmaster 1 7200 3600 1209600 300'
  echo '@ NS ns1'
  echo 'ns1 A 192.0.2.53'
  for ((i = 0; i < records; i++)); do echo "h$i A 10.$((i >> 16 & 255)).$((i >> 8 & 255)).$((i & 255))"; done
} > "$dir/big.test.zone"
cat > "$dir/swivel.toml" <<CONF
[server]
listen = ["127.0.0.1:$dns_port"]
workers = 1
[control]
listen = "127.0.0.1:$control_port"
[[zone]]
origin = "big.test."
file = "big.test.zone"
CONF
for ((i = 0; i < 20000; i++)); do echo "h$((RANDOM * 7 % records)).big.test A"; done > "$dir/queries"

"$bin" serve --config "$dir/swivel.toml" 2> "$dir/log" &
server=$!
for _ in $(seq 100); do grep -q "ready;" "$dir/log" && break; sleep 0.1; done

dnsperf -s 127.0.0.1 -p "$dns_port" -d "$dir/queries" -l "$seconds" -c 4 -T 1 -q 200 -t 2 -Q 50000 > "$dir/dnsperf" &
perf=$!
sleep 1
done_reloads=0
for ((i = 0; i < reloads; i++)); do
  "$bin" ctl --control "127.0.0.1:$control_port" reload > /dev/null && done_reloads=$((done_reloads + 1))
  sleep "$(awk -v s="$seconds" -v n="$reloads" 'BEGIN { printf "%.2f", (s - 2) / n }')"
done
wait $perf
echo "records: $records, reloads done during the run: $done_reloads"
grep -E "Queries sent|Queries completed|Queries lost|Average Latency|Latency StdDev|Queries per second" "$dir/dnsperf"
