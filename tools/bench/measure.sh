# shellcheck shell=bash
# Measurement helpers for tools/bench-compare.sh: CPU time of a process tree and of single
# CPUs from /proc, and one dnsperf run parsed into fields. Sourced, not run.

# Prints the pids of process $1 and all its descendants, one a line. NSD, for one, serves
# from a grandchild of the process that was started.
tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            inside[root] = 1
            do {
                grew = 0
                for (pid in parent)
                    if (!(pid in inside) && (parent[pid] in inside)) { inside[pid] = 1; grew = 1 }
            } while (grew)
            for (pid in inside) print pid
        }'
}

# Prints "total user": utime + stime and utime alone, in clock ticks, summed over process
# $1 and its descendants. The per-process figures in /proc/PID/stat already cover all of a
# process's threads.
tree_cpu_ticks() {
    local pid total=0 user=0 ticks
    for pid in $(tree_pids "$1"); do
        # Drop "pid (comm) " (comm may hold spaces); utime and stime are then fields 12, 13.
        ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13, $12 }') ||
            continue
        [ -n "$ticks" ] || continue
        total=$((total + ${ticks% *}))
        user=$((user + ${ticks#* }))
    done
    echo "$total $user"
}

# Prints "busy softirq steal" ticks of CPU $1 from /proc/stat, where busy counts user,
# nice, system, irq and softirq time (not idle, iowait or steal).
cpu_ticks() {
    awk -v name="cpu$1" '$1 == name { print $2 + $3 + $4 + $7 + $8, $8, $9 }' /proc/stat
}

# Prints the system-wide count of UDP datagrams dropped because a socket's receive buffer
# was full (RcvbufErrors in /proc/net/snmp), for the IPv4 UDP table.
udp_receive_buffer_drops() {
    awk '$1 == "Udp:" { if (!seen++) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") col = i }
                        else { print $col; exit } }' /proc/net/snmp
}

# Prints the nanoseconds that the threads of process $1 and its descendants spent ready
# to run but waiting for a CPU (the second field of /proc/PID/task/TID/schedstat): the
# time other work on the server's CPU kept the server waiting.
tree_wait_ns() {
    local pid
    for pid in $(tree_pids "$1"); do
        cat /proc/"$pid"/task/*/schedstat 2>/dev/null
    done | awk '{ total += $2 } END { printf "%.0f\n", total }'
}

# Takes a snapshot of everything measured around a dnsperf run, for server pid $1:
# "server_ticks server_user_ticks server_cpu_busy server_cpu_softirq server_cpu_steal
#  client_cpu_busy udp_receive_buffer_drops server_wait_ns".
snapshot() {
    local client
    client=$(cpu_ticks "$CLIENT_CPU" | awk '{ print $1 }')
    echo "$(tree_cpu_ticks "$1") $(cpu_ticks "$SERVER_CPU") $client" \
        "$(udp_receive_buffer_drops) $(tree_wait_ns "$1")"
}

# Runs dnsperf pinned to $CLIENT_CPU, at priority $BENCH_NICE, against 127.0.0.1 port $1 for $2 seconds, at most $3
# queries per second (0: as fast as it goes), saving its output to file $4.
run_dnsperf() {
    local port=$1 seconds=$2 rate=$3 output=$4
    local -a limit=()
    if [ "$rate" -gt 0 ]; then
        limit=(-Q "$rate")
    fi
    setsid sh -c "$SET_PRIORITY" "$BENCH_NICE" taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERY_FILE" -l "$seconds" \
        -c "$DNSPERF_CLIENTS" -T 1 -q "$DNSPERF_OUTSTANDING" -t "$DNSPERF_TIMEOUT" -e \
        "${limit[@]}" >"$output" 2>&1
}

# Prints the fields of a dnsperf output file $1:
# "sent completed lost qps avg_latency_s run_time_s response_bytes nxdomain_percent".
parse_dnsperf() {
    awk '
        /Queries sent:/         { sent = $3 }
        /Queries completed:/    { completed = $3 }
        /Queries lost:/         { lost = $3 }
        /Queries per second:/   { qps = $4 }
        /Average Latency \(s\):/ { latency = $4 }
        /Run time \(s\):/       { runtime = $4 }
        /Average packet size:/  { response = $NF }
        /Response codes:/ {
            nx = "0"
            for (i = 1; i <= NF; i++) if ($i == "NXDOMAIN") { nx = $(i + 2); gsub(/[(),%]/, "", nx) }
        }
        END {
            if (completed == "") exit 1
            print sent, completed, lost, qps, latency, runtime, response, nx
        }' "$1"
}

# Runs one measured dnsperf run against server pid $1 on port $2 for $3 seconds at rate
# $4 (0: full load), saving raw output as $5, and prints one result line:
# "sent completed lost qps avg_latency_s run_time_s response_bytes nxdomain_percent
#  server_cpu_s server_user_s server_cpu_busy_s server_cpu_softirq_s server_cpu_steal_s
#  client_cpu_busy_s udp_receive_buffer_drops server_wait_s".
measure() {
    local pid=$1 port=$2 seconds=$3 rate=$4 output=$5
    local before after fields
    before=$(snapshot "$pid")
    run_dnsperf "$port" "$seconds" "$rate" "$output" || true
    after=$(snapshot "$pid")
    fields=$(parse_dnsperf "$output") || {
        echo "dnsperf gave no statistics; its output ($output):" >&2
        cat "$output" >&2
        return 1
    }
    echo "$fields $before $after" | awk -v hz="$CLOCK_TICKS" '{
        printf "%s %s %s %s %s %s %s %s", $1, $2, $3, $4, $5, $6, $7, $8
        # Fields 1-8 are dnsperf'"'"'s, 9-16 the snapshot before, 17-24 the one after.
        for (i = 0; i < 6; i++) {
            seconds = ($(17 + i) - $(9 + i)) / hz
            printf " %.2f", seconds
        }
        wait_s = ($24 - $16) / 1e9
        printf " %d %.3f\n", $23 - $15, wait_s
    }'
}

# Prints the busy percentage of CPUs $SERVER_CPU and $CLIENT_CPU (the higher of the two)
# over the next second.
busiest_cpu_percent() {
    local server_before client_before server_after client_after
    server_before=$(cpu_ticks "$SERVER_CPU" | awk '{ print $1 }')
    client_before=$(cpu_ticks "$CLIENT_CPU" | awk '{ print $1 }')
    sleep 1
    server_after=$(cpu_ticks "$SERVER_CPU" | awk '{ print $1 }')
    client_after=$(cpu_ticks "$CLIENT_CPU" | awk '{ print $1 }')
    awk -v a=$((server_after - server_before)) -v b=$((client_after - client_before)) \
        -v hz="$CLOCK_TICKS" 'BEGIN { m = a > b ? a : b; printf "%d\n", m * 100 / hz }'
}

# Waits until both benchmark CPUs have been less than $QUIET_PERCENT busy for a second
# (others share this machine), at most $QUIET_WAIT seconds. Says so when it gives up.
wait_for_quiet() {
    local waited=0 busy
    while busy=$(busiest_cpu_percent) && [ "$busy" -ge "$QUIET_PERCENT" ]; do
        waited=$((waited + 1))
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            echo "   (CPUs still ${busy}% busy after ${waited} s; measuring anyway)" >&2
            return 0
        fi
    done
    if [ "$waited" -gt 0 ]; then
        echo "   (waited ${waited} s for other work on the CPUs to finish)" >&2
    fi
}

# Prints, for a result line of `measure`, the share of the run time in which the server
# was ready to run but waited for its CPU, in percent.
wait_percent() {
    echo "$1" | awk '{ printf "%d\n", ($6 > 0 ? $16 / $6 * 100 : 0) }'
}
