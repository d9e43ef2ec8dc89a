#!/usr/bin/env bash
# Multi-core measurements of Swivel's UDP workers on a small machine; see docs/BENCHMARKS.md
# ("Multi-core").
#
# With two CPUs and dnsperf needing one, two server workers cannot each have a core, so
# this does not measure throughput scaling. It measures what can be measured cleanly: the
# server CPU time per answered query and how the work spreads over the workers, at a fixed
# offered rate, for each configuration (by default 1 worker; 2 workers pinned; 2 workers
# unpinned; 2 workers pinned with CPU steering), plus the answered rate at full load.
# Swivel may use CPUs 0 and 1; dnsperf is pinned to CPU 1. Configurations take turns
# within each round; the report gives medians over the rounds.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/bench-workers.sh [--rounds N] [--seconds S] [--rate Q] [--out DIR]
                              [--config NAME='KEY = VALUE; ...']... [--no-build]

  --rounds N    rounds (default 3); each measures every configuration once, in rotating order
  --seconds S   length of each measured dnsperf run (default 10)
  --rate Q      offered rate of the fixed-rate run, queries per second (default 50000)
  --config      a configuration: NAME and the [server] keys it adds (separated by ";");
                given once or more, it replaces the default four
  --out DIR     where raw outputs, results.tsv and report.md go
                (default: target/bench-workers/<date-time>)
  --no-build    use target/release/swivel as it is
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/bench/data.sh
source "$ROOT/tools/bench/data.sh"
# shellcheck source=tools/bench/measure.sh
source "$ROOT/tools/bench/measure.sh"

ROUNDS=3
MEASURE_SECONDS=10
RATE=50000
OUT=""
BUILD=1
CONFIG_NAMES=()
declare -A CONFIG_LINES=()
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2 && shift ;;
    --seconds) MEASURE_SECONDS=$2 && shift ;;
    --rate) RATE=$2 && shift ;;
    --out) OUT=$2 && shift ;;
    --no-build) BUILD=0 ;;
    --config)
        [[ $2 =~ ^[A-Za-z0-9_-]+= ]] || { echo "--config needs NAME='KEY = VALUE; ...'" >&2 && exit 2; }
        CONFIG_NAMES+=("${2%%=*}")
        CONFIG_LINES[${2%%=*}]=${2#*=}
        shift
        ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && exit 2 ;;
    esac
    shift
done
if [ ${#CONFIG_NAMES[@]} -eq 0 ]; then
    CONFIG_NAMES=(w1 w2 w2-unpinned w2-steering)
    CONFIG_LINES=([w1]="workers = 1" [w2]="workers = 2"
        [w2-unpinned]="workers = 2; pin_workers = false"
        [w2-steering]="workers = 2; cpu_steering = true")
fi

CLIENT_CPU=1
PORT=${BENCH_PORT_BASE:-5300}
PORT=$((PORT + 50))
DNSPERF_CLIENTS=4
DNSPERF_OUTSTANDING=200
DNSPERF_TIMEOUT=1
BENCH_NICE=0
CLOCK_TICKS=$(getconf CLK_TCK)
SET_PRIORITY='exec "$@"'

# Prints "name ticks" for every UDP worker thread of process $1 (utime + stime).
worker_ticks() {
    local task
    for task in /proc/"$1"/task/*; do
        sed 's/^[0-9]* (\(.*\)) /\1 /' "$task/stat" 2>/dev/null |
            awk '$1 ~ /^udp-/ { split($1, part, "-"); print "udp-" part[2], $13 + $14 }'
    done | sort
}

# One measured run of configuration $1 in round $2 at rate $3 (0: full load) against pid
# $4; appends a line to $RESULTS.
measure_run() {
    local name=$1 round=$2 rate=$3 pid=$4 phase output before after workers_before workers_after
    phase=$([ "$rate" -gt 0 ] && echo rate || echo full)
    output="$OUT/raw/$name-round$round-$phase.txt"
    before=$(tree_cpu_ticks "$pid")
    workers_before=$(worker_ticks "$pid")
    run_dnsperf "$PORT" "$MEASURE_SECONDS" "$rate" "$output" || true
    after=$(tree_cpu_ticks "$pid")
    workers_after=$(worker_ticks "$pid")
    local fields worker_split
    fields=$(parse_dnsperf "$output")
    # Worker 0's and worker 1's share of the workers' CPU time during the run.
    worker_split=$(join <(echo "$workers_before") <(echo "$workers_after") |
        awk '{ d[$1] = $3 - $2; total += $3 - $2 }
             END { printf "%.0f %.0f", total ? d["udp-0"] / total * 100 : 0,
                                        total ? d["udp-1"] / total * 100 : 0 }')
    echo "$round $name $phase $fields ${before% *} ${after% *} $worker_split" |
        awk -v hz="$CLOCK_TICKS" '{
            cpu = ($13 - $12) / hz
            printf "%s %s %s %s %s %s %s %.2f %s %.0f\n", $1, $2, $3, $5, $6, $7, $8, cpu, $14, $15
        }' >>"$RESULTS"
}

main() {
    cd "$ROOT"
    if [ "$BUILD" = 1 ]; then
        cargo build --release
    fi
    OUT=${OUT:-"$ROOT/target/bench-workers/$(date '+%Y%m%d-%H%M%S')"}
    mkdir -p "$OUT/raw"
    local temp
    temp=$(mktemp -d /tmp/bench-workers.XXXXXX)
    # shellcheck disable=SC2064 # expand now
    trap "rm -rf '$temp'" EXIT
    cp target/release/swivel "$temp/swivel"
    write_zone "$temp/bench.test.zone"
    QUERY_FILE="$OUT/queries.txt"
    write_queries "$QUERY_FILE"
    RESULTS="$OUT/results.tsv"
    echo "round config phase completed lost qps latency_s server_cpu_s worker0_percent worker1_percent" >"$RESULTS"
    local round index name pid
    for round in $(seq 1 "$ROUNDS"); do
        for index in $(seq 0 $((${#CONFIG_NAMES[@]} - 1))); do
            name=${CONFIG_NAMES[$(((index + round - 1) % ${#CONFIG_NAMES[@]}))]}
            {
                echo "[server]"
                echo "listen = [\"127.0.0.1:$PORT\"]"
                echo "${CONFIG_LINES[$name]}" | tr ';' '\n' | sed 's/^ *//'
                echo "[control]"
                echo "listen = \"127.0.0.1:$((PORT + 1000))\""
                echo "[[zone]]"
                echo "origin = \"bench.test.\""
                echo "file = \"bench.test.zone\""
            } >"$temp/swivel.toml"
            "$temp/swivel" serve --config "$temp/swivel.toml" >"$OUT/raw/$name-round$round-server.log" 2>&1 &
            pid=$!
            for _ in $(seq 1 50); do
                kdig @127.0.0.1 -p "$PORT" +short +time=1 +retry=0 bench.test. SOA 2>/dev/null |
                    grep -q hostmaster && break
                sleep 0.2
            done
            run_dnsperf "$PORT" 2 "$RATE" "$OUT/raw/$name-round$round-warmup.txt" || true
            measure_run "$name" "$round" "$RATE" "$pid"
            measure_run "$name" "$round" 0 "$pid"
            kill "$pid" || true
            wait "$pid" || true
            tail -n 2 "$RESULTS" | sed 's/^/   /'
        done
    done
    awk -v rate="$RATE" '
        function median(key,    n, i, j, v, t) {
            n = count[key]
            for (i = 1; i <= n; i++) v[i] = value[key, i]
            for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function add(key, v) { value[key, ++count[key]] = v }
        NR == 1 { next }
        !($2 in seen) { seen[$2] = 1; order[++configs] = $2 }
        $3 == "rate" { add($2 SUBSEP "cpu", $4 > 0 ? $8 / $4 * 1e6 : 0); add($2 SUBSEP "lost", $5)
                       add($2 SUBSEP "lat", $7 * 1e6); add($2 SUBSEP "w0", $9); add($2 SUBSEP "w1", $10) }
        $3 == "full" { add($2 SUBSEP "qps", $6) }
        END {
            printf "| Configuration | Server CPU per answered query at %d q/s (µs) | Worker 0 / worker 1 share of it | Lost at %d q/s | Avg latency at %d q/s (µs) | Answered q/s at full load |\n", rate, rate, rate
            print "| --- | ---: | ---: | ---: | ---: | ---: |"
            for (i = 1; i <= configs; i++) {
                c = order[i]
                printf "| %s | %.2f | %.0f%% / %.0f%% | %d | %.0f | %d |\n", c, median(c SUBSEP "cpu"),
                    median(c SUBSEP "w0"), median(c SUBSEP "w1"), median(c SUBSEP "lost"),
                    median(c SUBSEP "lat"), median(c SUBSEP "qps")
            }
        }' "$RESULTS" >"$OUT/report.md"
    cat "$OUT/report.md"
    echo "raw outputs, results.tsv and report.md: $OUT"
}

main
