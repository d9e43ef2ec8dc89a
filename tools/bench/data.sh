# shellcheck shell=bash
# Benchmark data for tools/bench-compare.sh: the zone every server loads and the dnsperf
# query file. Sourced, not run. Both outputs are deterministic (fixed seeds), so runs on
# different days send exactly the same queries.

BENCH_ORIGIN="bench.test."
BENCH_HOSTS=300
BENCH_QUERY_LINES=20000

# write_zone FILE: origin bench.test., SOA, two NS, MX and TXT at the apex, and hosts
# h0..h299 with one A and one AAAA each. Plain RFC 1035 syntax that knotd, nsd, gdnsd and
# swivel all read.
write_zone() {
    local file=$1
    {
        echo "\$ORIGIN ${BENCH_ORIGIN}"
        echo "\$TTL 3600"
        echo "@     IN SOA  ns1.bench.test. hostmaster.bench.test. 1 7200 3600 1209600 300"
        echo "@     IN NS   ns1.bench.test."
        echo "@     IN NS   ns2.bench.test."
        echo "@     IN MX   10 mail.bench.test."
        echo "@     IN TXT  \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\""
        echo "ns1   IN A    192.0.2.53"
        echo "ns2   IN A    192.0.2.54"
        echo "mail  IN A    192.0.2.25"
        echo "mail  IN AAAA 2001:db8::25"
        awk -v hosts="$BENCH_HOSTS" 'BEGIN {
            for (i = 0; i < hosts; i++) {
                printf "h%d IN A    10.0.%d.%d\n", i, int(i / 256), i % 256
                printf "h%d IN AAAA 2001:db8:1::%x\n", i, i
            }
        }'
    } >"$file"
}

# write_queries FILE: dnsperf input, one "name type" per line, shuffled with a fixed seed.
# Mix: 60% A and 20% AAAA of existing hosts, 10% A for names that do not exist (NXDOMAIN),
# 5% MX and 5% TXT at the apex.
write_queries() {
    local file=$1
    awk -v lines="$BENCH_QUERY_LINES" -v hosts="$BENCH_HOSTS" 'BEGIN {
        srand(20240601)
        for (i = 0; i < lines; i++) {
            slot = i % 20
            host = "h" int(rand() * hosts) ".bench.test"
            if (slot < 12)       query = host " A"
            else if (slot < 16)  query = host " AAAA"
            else if (slot < 18)  query = sprintf("nx%06x.bench.test A", int(rand() * 16777216))
            else if (slot == 18) query = "bench.test MX"
            else                 query = "bench.test TXT"
            printf "%.9f %s\n", rand(), query
        }
    }' | sort -n | cut -d' ' -f2- >"$file"
}
