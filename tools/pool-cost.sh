#!/usr/bin/env bash
# CPU per query of a pool name against a plain record: one swivel (one UDP worker on CPU 0)
# serving both, dnsperf on CPU 1 at a fixed rate, the two query files in alternating
# rounds; prints the server's CPU time per answered query for each and their ratio.
# Usage: tools/pool-cost.sh [ROUNDS] [SECONDS] [RATE]
set -euo pipefail
rounds=${1:-3}
seconds=${2:-10}
rate=${3:-50000}
cd "$(dirname "$0")/.."
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install dnsperf)" >&2; exit 1; }
cargo build --release --quiet
dir=$(mktemp -d)
cp target/release/swivel "$dir/swivel"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=${DNS_PORT:-5395}
backend_port=${BACKEND_PORT:-5396}

# Two real TCP backends for the pool's checks.
for host in 127.0.0.2 127.0.0.3; do
  python3 -m http.server "$backend_port" --bind "$host" >/dev/null 2>&1 &
  pids+=($!)
done
cat > "$dir/bench.test.zone" <<'ZONE'
$ORIGIN bench.test.
$TTL 300
@     SOA ns1 hostmaster 1 7200 3600 1209600 300
@     NS  ns1
ns1   A   192.0.2.53
plain A   127.0.0.2
plain A   127.0.0.3
ZONE
cat > "$dir/swivel.toml" <<CONF
[server]
listen = ["127.0.0.1:$port"]
workers = 1
io = "mmsg"
[control]
listen = "127.0.0.1:$((port + 10))"
[[zone]]
origin = "bench.test."
file = "bench.test.zone"
[[pool]]
name = "pool.bench.test."
policy = "all"
[pool.check]
kind = "tcp"
port = $backend_port
[[pool.endpoint]]
address = "127.0.0.2"
[[pool.endpoint]]
address = "127.0.0.3"
CONF
for name in plain pool; do
  for ((i = 0; i < 1000; i++)); do echo "$name.bench.test A"; done > "$dir/$name.queries"
done
sleep 0.5
taskset -c 0 "$dir/swivel" serve --config "$dir/swivel.toml" 2> "$dir/log" &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -q "ready;" "$dir/log" && break; sleep 0.1; done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
declare -A total_cpu total_answered
for ((round = 1; round <= rounds; round++)); do
  for name in plain pool; do
    before=$(cpu_ticks)
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$dir/$name.queries" -l "$seconds" -c 4 -T 1 -q 200 -Q "$rate")
    after=$(cpu_ticks)
    answered=$(awk '/Queries completed:/ { print $3 }' <<< "$out")
    lost=$(awk '/Queries lost:/ { print $3 }' <<< "$out")
    us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$answered" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    echo "round $round $name: answered $answered, lost $lost, server CPU $us µs/query"
    total_cpu[$name]=$(( ${total_cpu[$name]:-0} + after - before ))
    total_answered[$name]=$(( ${total_answered[$name]:-0} + answered ))
  done
done
awk -v pc="${total_cpu[pool]}" -v pa="${total_answered[pool]}" -v sc="${total_cpu[plain]}" \
    -v sa="${total_answered[plain]}" -v hz="$hz" 'BEGIN {
  pool = pc / hz * 1e6 / pa; plain = sc / hz * 1e6 / sa
  printf "all rounds: plain record %.2f µs/query, pool name %.2f µs/query, pool / plain = %.3f\n", plain, pool, pool / plain }'
