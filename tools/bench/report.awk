# Turns the results file of tools/bench-compare.sh into Markdown: a table of medians over
# the rounds with Swivel's ratio to the best peer, and a table of every round so the spread
# is visible. Portable awk (Debian's default is mawk).
#
# Variables: rate (the fixed offered rate), servers (space-separated, in table order).
# Input columns (whitespace separated, header line starts with "round"):
#  1 round  2 server  3 phase (rate|full)  4 sent  5 completed  6 lost  7 qps
#  8 avg_latency_s  9 run_time_s  10 response_bytes  11 nxdomain_percent  12 server_cpu_s
#  13 server_user_s  14 server_cpu_busy_s  15 server_cpu_softirq_s  16 server_cpu_steal_s
#  17 client_cpu_busy_s  18 udp_receive_buffer_drops (system-wide)  19 server_wait_s

function median(key,    n, i, j, v, tmp) {
    n = count[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) v[i] = value[key, i]
    for (i = 2; i <= n; i++) {
        tmp = v[i]
        for (j = i - 1; j >= 1 && v[j] > tmp; j--) v[j + 1] = v[j]
        v[j + 1] = tmp
    }
    if (n % 2) return v[(n + 1) / 2]
    return (v[n / 2] + v[n / 2 + 1]) / 2
}

function spread(key,    n, i, lo, hi) {
    n = count[key]
    lo = hi = value[key, 1]
    for (i = 2; i <= n; i++) {
        if (value[key, i] < lo) lo = value[key, i]
        if (value[key, i] > hi) hi = value[key, i]
    }
    return lo > 0 ? hi / lo : 0
}

function add(server, metric, v) {
    count[server, metric]++
    value[server SUBSEP metric, count[server, metric]] = v
}

# Ratio of server `me`'s median to the best peer's (lowest if lower_better, else highest).
function ratio(me, metric, lower_better,    i, s, best, m, found) {
    found = 0
    for (i = 1; i <= nservers; i++) {
        s = order[i]
        # Swivel and its variants (swivel-NAME) are never peers.
        if (s ~ /^swivel/ || count[s, metric] == 0) continue
        m = median(s SUBSEP metric)
        if (!found || (lower_better && m < best) || (!lower_better && m > best)) best = m
        found = 1
    }
    if (!found || count[me, metric] == 0) return "–"
    if (best == 0) return median(me SUBSEP metric) == 0 ? "equal" : "–"
    return sprintf("%.2f×", median(me SUBSEP metric) / best)
}

$1 == "round" { next }
{
    s = $2
    if ($3 == "rate") {
        add(s, "cpu_us", $5 > 0 ? $12 / $5 * 1e6 : 0)
        add(s, "lost_rate", $6)
        add(s, "lat_rate_us", $8 * 1e6)
        add(s, "response", $10)
        add(s, "user_us", $5 > 0 ? $13 / $5 * 1e6 : 0)
    } else {
        add(s, "qps", $7)
        add(s, "lost_full", $6)
        add(s, "lat_full_us", $8 * 1e6)
        add(s, "server_use", $9 > 0 ? $12 / $9 * 100 : 0)
        add(s, "client_use", $9 > 0 ? $17 / $9 * 100 : 0)
    }
    rows[++nrows] = $0
}
END {
    nservers = split(servers, order, " ")
    printf "| Server | CPU per answered query at %d q/s (µs) | of it user space (µs) | Lost at %d q/s | Answered q/s at full load | Avg latency at %d q/s (µs) | Avg latency at full load (µs) | Server CPU busy at full load | Load generator's CPU busy at full load | Lost at full load | Avg response (bytes) |\n", rate, rate, rate
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= nservers; i++) {
        s = order[i]
        if (count[s, "cpu_us"] == 0 && count[s, "qps"] == 0) continue
        printf "| %s | %.2f | %.2f | %d | %d | %.0f | %.0f | %.0f%% | %.0f%% | %d | %d |\n", s,
            median(s SUBSEP "cpu_us"), median(s SUBSEP "user_us"), median(s SUBSEP "lost_rate"),
            median(s SUBSEP "qps"), median(s SUBSEP "lat_rate_us"),
            median(s SUBSEP "lat_full_us"), median(s SUBSEP "server_use"),
            median(s SUBSEP "client_use"), median(s SUBSEP "lost_full"),
            median(s SUBSEP "response")
    }
    for (i = 1; i <= nservers; i++) {
        s = order[i]
        if (s !~ /^swivel/) continue
        printf "| **%s ÷ best peer** | %s | %s | %s | %s | %s | %s | | | %s | |\n", s,
            ratio(s, "cpu_us", 1), ratio(s, "user_us", 1), ratio(s, "lost_rate", 1),
            ratio(s, "qps", 0), ratio(s, "lat_rate_us", 1), ratio(s, "lat_full_us", 1),
            ratio(s, "lost_full", 1)
    }
    print ""
    print "Every round (rate = the fixed-rate run, full = the full-load run; CPU figures per answered query):"
    print ""
    print "| Round | Server | Run | Answered | Lost | q/s | Avg latency (µs) | Server CPU per query (µs) | of it user space (µs) | Server CPU busy | Other tasks on server's CPU | Server waited for its CPU | Softirq on server's CPU per query (µs) | Steal on server's CPU (s) | Load generator's CPU busy | UDP receive buffer drops |"
    print "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (r = 1; r <= nrows; r++) {
        split(rows[r], f, " ")
        per = f[5] > 0 ? 1e6 / f[5] : 0
        share = f[9] > 0 ? 100 / f[9] : 0
        printf "| %s | %s | %s | %d | %d | %d | %.0f | %.2f | %.2f | %.0f%% | %.0f%% | %.1f%% | %.2f | %.2f | %.0f%% | %d |\n",
            f[1], f[2], f[3], f[5], f[6], f[7], f[8] * 1e6, f[12] * per, f[13] * per,
            f[12] * share, (f[14] - f[12]) * share, f[19] * share, f[15] * per, f[16],
            f[17] * share, f[18]
    }
    noisy = ""
    for (i = 1; i <= nservers; i++) {
        s = order[i]
        if (count[s, "cpu_us"] > 1 && spread(s SUBSEP "cpu_us") > 1.2)
            noisy = noisy sprintf(" %s (max/min %.2f)", s, spread(s SUBSEP "cpu_us"))
    }
    if (noisy != "") {
        print ""
        print "Warning: CPU per query varied by more than 20% between rounds for" noisy \
            "; the machine was probably busy; consider a rerun."
    }
}
