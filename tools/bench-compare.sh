#!/usr/bin/env bash
# Side-by-side UDP benchmark of Swivel against Knot DNS, NSD and gdnsd; see docs/BENCHMARKS.md.
#
# Every server loads the same zone, runs with one UDP worker pinned to CPU 0 and listens on
# its own loopback port; dnsperf, pinned to CPU 1, sends all of them the same query mix.
# Each server is measured at a fixed offered rate (server CPU time per answered query,
# queries lost, latency) and at full load (answered queries per second). Servers take turns
# within each round; the report gives medians over the rounds and Swivel's ratio to the best
# peer on each figure.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/bench-compare.sh [--quick] [--rounds N] [--seconds S] [--rate Q]
                              [--servers "knotd nsd gdnsd swivel"] [--out DIR] [--no-build]
                              [--variant NAME='KEY = VALUE; ...']...

  --quick      one round of 5 s per measurement (default: 3 rounds of 15 s)
  --rounds N   rounds; each round measures every server once, in rotating order
  --seconds S  length of each measured dnsperf run
  --rate Q     offered rate of the fixed-rate run, queries per second (default 100000)
  --servers L  which servers, space separated (default: all four)
  --out DIR    where raw outputs, results.tsv and report.md go
               (default: target/bench-compare/<date-time>)
  --no-build   use target/release/swivel as it is
  --variant NAME='KEY = VALUE; ...'
               defines a Swivel variant, server name swivel-NAME, whose [server] table gets
               these keys (separated by ";"), e.g. --variant uring='io = "uring"'
               --variant mmsg='io = "mmsg"' --servers "swivel-uring swivel-mmsg"; variants
               take turns with the other servers and are never counted as peers

Environment: BENCH_SERVER_CPU (0), BENCH_CLIENT_CPU (1), BENCH_PORT_BASE (5300; knotd,
nsd, gdnsd and swivel listen on base+1..base+4), DNSPERF_CLIENTS (4),
DNSPERF_OUTSTANDING (200), DNSPERF_TIMEOUT (1).
Servers and dnsperf run at nice BENCH_NICE (-10; 0 for normal priority), set on their own
session's scheduler autogroup so that it counts against other sessions' work, and servers
with the real-time policy SCHED_FIFO (priority 1) unless BENCH_SERVER_SCHED=other, so that
other work on their CPU does not delay their answers. dnsperf keeps the normal policy (its
sending and receiving threads must share CPU 1 by time slices).
The machine may be shared: before each measured run the script waits (at most
BENCH_QUIET_WAIT s: 10, or 3 with --quick) until both CPUs are below
BENCH_QUIET_PERCENT (10) % busy, and it repeats a run (at most BENCH_RETRIES times, 2) in
which the server spent more than BENCH_WAIT_LIMIT (2) % of the run waiting for its CPU.
Needs root (or sudo) only to apt-get install missing tools.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR="$ROOT/tools/bench"
# shellcheck source=tools/bench/data.sh
source "$BENCH_DIR/data.sh"
# shellcheck source=tools/bench/servers.sh
source "$BENCH_DIR/servers.sh"
# shellcheck source=tools/bench/measure.sh
source "$BENCH_DIR/measure.sh"

ROUNDS=3
MEASURE_SECONDS=15
RATE=100000
SERVERS="knotd nsd gdnsd swivel"
OUT=""
BUILD=1
QUICK=0
declare -A SWIVEL_VARIANT_LINES=()
VARIANT_NAMES=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) ROUNDS=1 MEASURE_SECONDS=5 QUICK=1 ;;
    --rounds) ROUNDS=$2 && shift ;;
    --seconds) MEASURE_SECONDS=$2 && shift ;;
    --rate) RATE=$2 && shift ;;
    --servers) SERVERS=$2 && shift ;;
    --out) OUT=$2 && shift ;;
    --no-build) BUILD=0 ;;
    --variant)
        [[ $2 =~ ^[A-Za-z0-9_]+= ]] || { echo "--variant needs NAME='KEY = VALUE; ...'" >&2 && exit 2; }
        SWIVEL_VARIANT_LINES[${2%%=*}]=${2#*=}
        VARIANT_NAMES="$VARIANT_NAMES ${2%%=*}"
        shift
        ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && exit 2 ;;
    esac
    shift
done

SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
PORT_BASE=${BENCH_PORT_BASE:-5300}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-4}
DNSPERF_OUTSTANDING=${DNSPERF_OUTSTANDING:-200}
DNSPERF_TIMEOUT=${DNSPERF_TIMEOUT:-1}
CLOCK_TICKS=$(getconf CLK_TCK)
BENCH_NICE=${BENCH_NICE:--10}
SERVER_SCHED=${BENCH_SERVER_SCHED:-fifo}
QUIET_PERCENT=${BENCH_QUIET_PERCENT:-10}
QUIET_WAIT=${BENCH_QUIET_WAIT:-$([ "$QUICK" = 1 ] && echo 3 || echo 10)}
WAIT_LIMIT=${BENCH_WAIT_LIMIT:-2}
RETRIES=${BENCH_RETRIES:-2}

port_of() {
    case $1 in
    knotd) echo $((PORT_BASE + 1)) ;;
    nsd) echo $((PORT_BASE + 2)) ;;
    gdnsd) echo $((PORT_BASE + 3)) ;;
    swivel) echo $((PORT_BASE + 4)) ;;
    swivel-*)
        local index=10 name
        for name in $VARIANT_NAMES; do
            [ "swivel-$name" = "$1" ] && echo $((PORT_BASE + index)) && return 0
            index=$((index + 1))
        done
        echo "unknown server '$1': define it with --variant ${1#swivel-}='...'" >&2 && return 1
        ;;
    *) echo "unknown server '$1' (known: knotd nsd gdnsd swivel, swivel-NAME with --variant)" >&2 && return 1 ;;
    esac
}

install_missing_tools() {
    local -a packages=()
    command -v knotd >/dev/null || packages+=(knot)
    command -v nsd >/dev/null || packages+=(nsd)
    command -v gdnsd >/dev/null || packages+=(gdnsd)
    command -v dnsperf >/dev/null || packages+=(dnsperf)
    command -v kdig >/dev/null || packages+=(knot-dnsutils)
    command -v taskset >/dev/null || packages+=(util-linux)
    [ ${#packages[@]} -eq 0 ] && return 0
    echo "== installing ${packages[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    # The packages start system-wide daemons on port 53; they are not ours to keep running,
    # but they do not disturb the benchmark ports either, so they are left alone.
}

check_ports_free() {
    local server port
    for server in $SERVERS; do
        port=$(port_of "$server")
        if ss -Hlun "sport = :$port" | grep -q .; then
            echo "UDP port $port (for $server) is already in use; set BENCH_PORT_BASE" >&2
            exit 1
        fi
    done
}

describe_machine() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPUs: $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- kernel: $(uname -r)"
    echo "- knotd $(knotd -V | awk '{ print $NF }'), NSD $(nsd -v 2>&1 | awk '/version/ { print $NF; exit }'), gdnsd $(gdnsd -h 2>&1 | awk '/version/ { print $NF; exit }'), dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
    echo "- swivel: commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' (with uncommitted changes in src/ or Cargo.toml)')"
    echo "- server CPU $SERVER_CPU, dnsperf CPU $CLIENT_CPU; $ROUNDS round(s) of $MEASURE_SECONDS s per measurement; fixed rate $RATE q/s"
    echo "- dnsperf -c $DNSPERF_CLIENTS -T 1 -q $DNSPERF_OUTSTANDING -t $DNSPERF_TIMEOUT -e; servers and dnsperf at autogroup nice $BENCH_NICE, servers with policy $SERVER_SCHED; load averages before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

RUNNING_PID=""
TEMP=$(mktemp -d /tmp/bench-compare.XXXXXX)
cleanup() {
    if [ -n "$RUNNING_PID" ]; then
        stop_server "$RUNNING_PID"
    fi
    rm -rf "$TEMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs `measure` on server $1 (pid $SERVER_PID) at port $2 and rate $3 after waiting for
# quiet CPUs, saving dnsperf's output as $4.txt; repeats it (at most $RETRIES times) while
# the server spent more than $WAIT_LIMIT percent of the run ready to run but waiting for
# its CPU. Prints the result line of the last attempt.
undisturbed_measure() {
    local server=$1 port=$2 rate=$3 output=$4 attempt result waited
    for attempt in $(seq 0 "$RETRIES"); do
        wait_for_quiet
        result=$(measure "$SERVER_PID" "$port" "$MEASURE_SECONDS" "$rate" "$output.txt")
        waited=$(wait_percent "$result")
        [ "$waited" -le "$WAIT_LIMIT" ] && break
        cp "$output.txt" "$output-disturbed$attempt.txt"
        echo "   ($server waited for CPU $SERVER_CPU ${waited}% of the run; $([ "$attempt" -lt "$RETRIES" ] && echo repeating it || echo 'keeping it'))" >&2
    done
    echo "$result"
}

# Measures server $1 in round $2: fresh configuration, start, check, warm-up, the
# fixed-rate run, the full-load run, stop. Appends two lines to $RESULTS.
measure_server() {
    local server=$1 round=$2 port dir fixed full
    port=$(port_of "$server")
    dir="$TEMP/$server-round$round"
    configure_server "$server" "$dir" "$ZONE_FILE" "$port"
    start_server "$server" "$dir"
    RUNNING_PID=$SERVER_PID
    if ! wait_until_answering "$port"; then
        echo "$server did not answer on port $port; its log:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    if [ "$(taskset -pc "$SERVER_PID" | awk '{ print $NF }')" != "$SERVER_CPU" ]; then
        echo "$server is not confined to CPU $SERVER_CPU" >&2
        exit 1
    fi
    run_dnsperf "$port" 2 "$RATE" "$OUT/raw/$server-round$round-warmup.txt" || true
    fixed=$(undisturbed_measure "$server" "$port" "$RATE" "$OUT/raw/$server-round$round-rate")
    full=$(undisturbed_measure "$server" "$port" 0 "$OUT/raw/$server-round$round-full")
    stop_server "$SERVER_PID"
    RUNNING_PID=""
    cp "$dir/server.log" "$OUT/raw/$server-round$round-server.log"
    if [[ $server == swivel* ]] && [ "$round" = 1 ]; then
        echo "- $server UDP I/O (from its log): $(sed -n 's/.* io="\{0,1\}\([a-z_]*\).*/\1/p' "$dir/server.log" | head -1)" >>"$OUT/machine.md"
    fi
    echo "$round $server rate $fixed" >>"$RESULTS"
    echo "$round $server full $full" >>"$RESULTS"
    echo "$fixed" | awk -v s="$server" -v r="$round" -v rate="$RATE" '{
        printf "   %-7s round %s at %d q/s: %.2f us CPU/query, %d lost, %.0f us latency, waited %.1f%%\n",
            s, r, rate, ($2 > 0 ? $9 / $2 * 1e6 : 0), $3, $5 * 1e6, ($6 > 0 ? $16 / $6 * 100 : 0) }'
    echo "$full" | awk -v s="$server" -v r="$round" '{
        printf "   %-7s round %s at full load: %.0f q/s answered, %d lost, server CPU %.0f%%, waited %.1f%%\n",
            s, r, $4, $3, ($6 > 0 ? $9 / $6 * 100 : 0), ($6 > 0 ? $16 / $6 * 100 : 0) }'
}

main() {
    local server round index
    local -a order
    read -r -a order <<<"$SERVERS"
    for server in "${order[@]}"; do port_of "$server" >/dev/null; done
    if [ "$(nproc)" -lt 2 ] || [ "$SERVER_CPU" = "$CLIENT_CPU" ]; then
        echo "needs two CPUs: one for the servers, one for dnsperf" >&2
        exit 1
    fi
    install_missing_tools
    cd "$ROOT"
    if [ "$BUILD" = 1 ]; then
        echo "== cargo build --release"
        cargo build --release
    fi
    # A private copy: other builds in this tree must not swap the binary between rounds.
    SWIVEL_BIN="$TEMP/swivel"
    cp target/release/swivel "$SWIVEL_BIN"
    check_ports_free

    OUT=${OUT:-"$ROOT/target/bench-compare/$(date '+%Y%m%d-%H%M%S')"}
    mkdir -p "$OUT/raw"
    RESULTS="$OUT/results.tsv"
    ZONE_FILE="$OUT/bench.test.zone"
    QUERY_FILE="$OUT/queries.txt"
    write_zone "$ZONE_FILE"
    write_queries "$QUERY_FILE"
    echo "round server phase sent completed lost qps avg_latency_s run_time_s response_bytes nxdomain_percent server_cpu_s server_user_s server_cpu_busy_s server_cpu_softirq_s server_cpu_steal_s client_cpu_busy_s udp_receive_buffer_drops server_wait_s" >"$RESULTS"
    describe_machine >"$OUT/machine.md"
    cat "$OUT/machine.md"

    for round in $(seq 1 "$ROUNDS"); do
        echo "== round $round of $ROUNDS"
        # Rotate the order so that no server always runs first or last.
        for index in $(seq 0 $((${#order[@]} - 1))); do
            measure_server "${order[$(((index + round - 1) % ${#order[@]}))]}" "$round"
        done
    done

    {
        echo "## Result"
        echo
        cat "$OUT/machine.md"
        echo
        awk -v rate="$RATE" -v servers="$SERVERS" -f "$BENCH_DIR/report.awk" "$RESULTS"
    } >"$OUT/report.md"
    echo
    cat "$OUT/report.md"
    echo
    echo "raw dnsperf outputs, results.tsv and report.md: $OUT"
}

main
