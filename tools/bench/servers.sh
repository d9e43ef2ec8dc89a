# shellcheck shell=bash
# Server configurations and start-up for tools/bench-compare.sh. Sourced, not run.
#
# Each server gets its own folder under the run's temporary directory, one UDP worker (and
# as few other threads as it allows), and is started in the foreground under
# `taskset -c $SERVER_CPU`, so every thread it ever creates may only run on that CPU.
# start_server sets SERVER_PID to the pid of the server's main process.

# Configures $1 (knotd, nsd, gdnsd or swivel) in folder $2 to serve zone file $3 on
# 127.0.0.1 port $4.
configure_server() {
    local name=$1 dir=$2 zone=$3 port=$4
    mkdir -p "$dir"
    case $name in
    knotd)
        cp "$zone" "$dir/bench.test.zone"
        cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$dir"
template:
  - id: default
    storage: "$dir"
zone:
  - domain: bench.test.
    file: "$dir/bench.test.zone"
    zonefile-load: whole
    journal-content: none
    zonefile-sync: -1
EOF
        ;;
    nsd)
        cp "$zone" "$dir/bench.test.zone"
        # Response rate limiting is on by default in NSD (200 qps per source) and would
        # throttle a benchmark from one address; it is switched off here.
        cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    minimal-responses: yes
remote-control:
    control-enable: no
zone:
    name: bench.test.
    zonefile: "$dir/bench.test.zone"
EOF
        ;;
    gdnsd)
        mkdir -p "$dir/zones" "$dir/run" "$dir/state"
        # gdnsd names each zone file after its zone.
        cp "$zone" "$dir/zones/bench.test"
        cat >"$dir/config" <<EOF
options => {
    listen => [ 127.0.0.1:$port ]
    udp_threads => 1
    tcp_threads => 1
    run_dir => $dir/run
    state_dir => $dir/state
}
EOF
        ;;
    swivel | swivel-*)
        cp "$zone" "$dir/bench.test.zone"
        # The control address is only validated (nothing listens on it yet); it must
        # differ from the DNS one. A variant (--variant) adds its keys to [server].
        cat >"$dir/swivel.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
workers = 1
$(if [ "$name" != swivel ]; then echo "${SWIVEL_VARIANT_LINES[${name#swivel-}]}" | tr ';' '\n' | sed 's/^ *//'; fi)

[control]
listen = "127.0.0.1:$((port + 1000))"

[[zone]]
origin = "bench.test."
file = "bench.test.zone"
EOF
        ;;
    *)
        echo "unknown server: $name" >&2
        return 1
        ;;
    esac
}

# The shell command that gives its own session (and so its own scheduler autogroup) the
# nice value $0 and then runs "$@". Run under setsid. With autogroups (Linux's default
# for sessions) a plain nice value only counts within the session; this raises the
# benchmark above other work on a shared machine. Falls back to a per-process nice value.
# shellcheck disable=SC2016 # expanded by the inner sh
SET_PRIORITY='echo "$0" >/proc/self/autogroup 2>/dev/null || renice -n "$0" -p $$ >/dev/null 2>&1; exec "$@"'

# Starts server $1 from folder $2 (configured by configure_server) pinned to $SERVER_CPU
# at priority $BENCH_NICE, with the real-time policy SCHED_FIFO when $SERVER_SCHED is
# "fifo", with stdout and stderr in $2/server.log. Sets SERVER_PID. $SWIVEL_BIN names the swivel
# binary.
start_server() {
    local name=$1 dir=$2
    local -a command
    case $name in
    knotd) command=(knotd -c "$dir/knot.conf") ;;
    nsd) command=(nsd -d -c "$dir/nsd.conf") ;;
    gdnsd) command=(gdnsd -c "$dir" start) ;;
    swivel | swivel-*) command=("$SWIVEL_BIN" serve --config "$dir/swivel.toml") ;;
    esac
    # With SCHED_FIFO the server runs as soon as a datagram wakes it, as on an idle machine,
    # however busy the CPU is with other (normally scheduled) work.
    local -a policy=()
    if [ "$SERVER_SCHED" = fifo ]; then
        policy=(chrt --fifo 1)
    fi
    # setsid, sh, chrt and taskset each exec the next, so $! is the server's own pid.
    setsid sh -c "$SET_PRIORITY" "$BENCH_NICE" "${policy[@]}" taskset -c "$SERVER_CPU" \
        "${command[@]}" >>"$dir/server.log" 2>&1 </dev/null &
    # shellcheck disable=SC2034 # read by the script that sources this file
    SERVER_PID=$!
}

# Waits up to 15 s until 127.0.0.1 port $1 answers the SOA query for the zone.
wait_until_answering() {
    local port=$1
    for _ in $(seq 1 75); do
        if kdig @127.0.0.1 -p "$port" +short +time=1 +retry=0 bench.test. SOA 2>/dev/null |
            grep -q hostmaster; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Stops the server with pid $1 and any processes it started (TERM, then KILL after 5 s)
# and waits for it.
stop_server() {
    local pid=$1
    local -a family
    read -r -a family <<<"$(tree_pids "$pid" | tr '\n' ' ')"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "${family[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
