#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Run from anywhere: python3 fuzz/make_seeds.py. It only (re)writes files named seed-*, so
inputs added by fuzzing runs (named by their hash) are left alone. The names of the test
zone in the engine seeds are those of swivel::fuzzing's table (src/fuzzing/engine.rs).
"""

import pathlib
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
    "SRV": 33, "DNAME": 39, "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "IXFR": 251,
    "AXFR": 252, "ANY": 255, "CAA": 257,
}


def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def opt(size=1232, do=False, version=0, ext_rcode=0, options=b"", owner=b"\0"):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack(">HHIH", 41, size, ttl, len(options)) + options


def question(qname, qtype="A", qclass=1):
    qt = TYPES[qtype] if isinstance(qtype, str) else qtype
    return name(qname) + struct.pack(">HH", qt, qclass)


def query(qname, qtype="A", qclass=1, edns=None, qid=0x1234, flags=0x0100):
    """A query; `edns` is None or a dict of opt() arguments."""
    ar = 0 if edns is None else 1
    body = question(qname, qtype, qclass)
    if edns is not None:
        body += opt(**edns)
    return header(qid, flags, 1, 0, 0, ar) + body


def record(owner, rtype, rdata, ttl=300, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def queries():
    """Every query seed, by name: real queries of every kind, then broken ones."""
    seeds = {}
    zone = "example.test"
    names = {
        "apex": zone, "www": "www." + zone, "api": "api." + zone, "alias": "alias." + zone,
        "chain": "chain." + zone, "loop": "loop1." + zone, "out": "out." + zone,
        "intodeleg": "intodeleg." + zone, "wild": "host.wild." + zone,
        "cw": "x.cw." + zone, "ent": "b.c." + zone, "nx": "nope." + zone,
        "sub": "sub." + zone, "below-sub": "deep.host.sub." + zone, "big": "big." + zone,
        "huge": "huge." + zone, "dname": "x.dn." + zone, "other": "back.other.test",
        "foreign": "www.example.org", "root": ".",
        "long": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long." + zone,
        "srv": "_sip._udp." + zone, "ptr": "ptr." + zone,
        "upper": "WwW.ExAmPlE.TeSt",
    }
    kinds = ["A", "AAAA", "MX", "TXT", "ANY", "DS", "NS", "SOA", "CAA", "SRV", "PTR", "CNAME",
             "DNAME", "RRSIG"]
    for label, qname in names.items():
        for qtype in kinds:
            seeds[f"{label}-{qtype}"] = query(qname, qtype)
        seeds[f"{label}-A-edns"] = query(qname, "A", edns={})
        seeds[f"{label}-ANY-edns-do"] = query(qname, "ANY", edns={"do": True})
    www = names["www"]
    for size in (0, 511, 512, 1232, 1400, 4096, 65535):
        seeds[f"big-TXT-edns-{size}"] = query(names["big"], "TXT", edns={"size": size})
        seeds[f"huge-A-edns-{size}"] = query(names["huge"], "A", edns={"size": size})
    seeds["big-TXT-classic"] = query(names["big"], "TXT")
    seeds["www-A-edns-version1"] = query(www, "A", edns={"version": 1})
    seeds["www-A-edns-cookie"] = query(www, "A", edns={"options": struct.pack(">HH", 10, 8) + b"cookie!!"})
    seeds["www-A-edns-padding"] = query(www, "A", edns={"options": struct.pack(">HH", 12, 200) + b"\0" * 200})
    seeds["www-A-edns-broken-option"] = query(www, "A", edns={"options": b"\0\x0a\0\x09abc"})
    seeds["www-A-edns-ext-rcode"] = query(www, "A", edns={"ext_rcode": 1})
    seeds["www-A-opt-not-root"] = header(ar=1) + question(www) + opt(owner=name("x"))
    seeds["www-A-two-opts"] = header(ar=2) + question(www) + opt() + opt()
    seeds["www-A-opt-in-answer"] = header(an=1) + question(www) + opt()
    # An additional record whose owner is a pointer to the question, then OPT.
    pointer_record = record(b"\xc0\x0c", 1, bytes([192, 0, 2, 1]))
    seeds["www-A-additional-pointer"] = header(ar=2) + question(www) + pointer_record + opt()
    seeds["www-A-additional-pointer-loop"] = header(ar=1) + question(www) + record(b"\xc0\x1d", 1, b"\0\0\0\0")
    seeds["www-A-additional-forward-pointer"] = header(ar=1) + question(www) + record(b"\xc0\xff", 1, b"\0\0\0\0")
    seeds["www-A-answer-and-authority"] = header(an=1, ns=1, ar=1) + question(www) + pointer_record + pointer_record + opt()
    # Opcodes, flags, classes, special types.
    for opcode in (1, 2, 4, 5, 6, 15):
        seeds[f"www-A-opcode{opcode}"] = query(www, "A", flags=0x0100 | (opcode << 11))
    seeds["www-A-qr"] = query(www, "A", flags=0x8100)
    seeds["www-A-all-flags"] = query(www, "A", flags=0x7fff)
    seeds["www-A-cd-ad"] = query(www, "A", flags=0x0130)
    for qclass, label in ((3, "CH"), (4, "HS"), (254, "NONE"), (255, "ANY"), (0, "0")):
        seeds[f"www-A-class-{label}"] = query(www, "A", qclass=qclass)
    seeds["version-bind-CH-TXT"] = query("version.bind", "TXT", qclass=3)
    for qtype in (0, "AXFR", "IXFR", 253, 254, 65535):
        seeds[f"apex-type-{qtype}"] = query(zone, qtype)
    seeds["apex-IXFR-with-soa"] = header(ns=1) + question(zone, "IXFR") + record(b"\xc0\x0c", 6, name("ns1") + name("h") + b"\0" * 20)
    # Counts and truncation.
    seeds["empty"] = b""
    seeds["one-byte"] = b"\x12"
    seeds["eleven-bytes"] = header()[:11]
    seeds["header-only"] = header()
    seeds["qdcount0"] = header(qd=0)
    seeds["qdcount0-opt"] = header(qd=0, ar=1) + opt()
    seeds["qdcount2"] = header(qd=2) + question(www) + question(www, "AAAA")
    seeds["qdcount65535"] = header(qd=65535) + question(www)
    seeds["ancount65535"] = header(an=65535) + question(www)
    full = query(www, "A", edns={})
    for cut in (13, 14, 20, len(full) - 12, len(full) - 4, len(full) - 2, len(full) - 1):
        seeds[f"truncated-at-{cut}"] = full[:cut]
    seeds["trailing-byte"] = query(www) + b"\0"
    seeds["trailing-1000"] = query(www) + b"\xff" * 1000
    seeds["oversized-4000-padding"] = query(www, "A", edns={"options": struct.pack(">HH", 12, 3980) + b"\0" * 3980})
    # Broken names in the question.
    seeds["label-64"] = header() + b"\x40" + b"a" * 64 + b"\0\0\1\0\1"
    seeds["label-type-0x40"] = header() + b"\x41abc\0\0\1\0\1"
    seeds["label-type-0x80"] = header() + b"\x81abc\0\0\1\0\1"
    seeds["question-pointer-loop"] = header() + b"\xc0\x0c\0\1\0\1"
    seeds["question-forward-pointer"] = header() + b"\xc0\x12\0\1\0\1\3www\0"
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\0"
    seeds["name-256"] = header() + long_name + b"\0\1\0\1"
    just_fits = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3d" + b"a" * 61 + b"\0"
    seeds["name-255"] = header() + just_fits + b"\0\1\0\1"
    seeds["unterminated-name"] = header() + b"\3www\7example"
    return seeds


def write(target, seeds):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for label, data in seeds.items():
        (folder / f"seed-{label}").write_bytes(data)


def framed(*messages):
    return b"".join(struct.pack(">H", len(m)) + m for m in messages)


def tcp_streams():
    www = query("www.example.test")
    big = query("huge.example.test")
    seeds = {
        "one": framed(www),
        "pipelined": framed(www, query("www.example.test", "AAAA", qid=2), query("big.example.test", "TXT", qid=3)),
        "huge-answer": framed(big),
        "zero-length": b"\0\0",
        "zero-then-query": b"\0\0" + framed(www),
        "prefix-1-nothing": b"\0\1",
        "prefix-65535-nothing": b"\xff\xff",
        "half-prefix": b"\0",
        "half-message": framed(www)[:10],
        "query-then-half": framed(www) + framed(www)[:7],
        "garbage-message": framed(b"\x01\x02\x03"),
        "response-in-stream": framed(query("www.example.test", flags=0x8100)) + framed(www),
        "max-message": framed(query("www.example.test", edns={"options": struct.pack(">HH", 12, 65535 - 49) + b"\0" * (65535 - 49)})),
    }
    out = {}
    for label, stream in seeds.items():
        for seed in (0, 1, 0x5a):
            out[f"{label}-{seed:02x}"] = bytes([seed]) + stream
    return out


def main():
    seeds = queries()
    write("parse_query", seeds)
    engine = {}
    for i, (label, data) in enumerate(seeds.items()):
        engine[label] = bytes([i % 7]) + data
    write("engine_answer", engine)
    write("tcp_framing", tcp_streams())
    write("zone_file", zone_seeds())
    write("config_file", config_seeds())
    write("xfr_client", xfr_seeds())


def zone_seeds():
    seeds = {
        "demo": (ROOT / "examples/demo/example.test.zone").read_bytes(),
        "tests-example": (ROOT / "tests/data/zones/example.test.zone").read_bytes(),
    }
    base = (b"$ORIGIN example.test.\n$TTL 300\n"
            b"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    extras = {
        "all-types": b"www A 192.0.2.2\nwww AAAA 2001:db8::2\n@ MX 10 mail\n@ TXT \"a\" \"b c\"\n"
                     b"_s._tcp SRV 1 2 3 www\nptr PTR www\nalias CNAME www\ndn DNAME other.test.\n"
                     b"@ CAA 0 issue \"ca.test\"\nsub NS ns.sub\nsub DS 1 8 2 00FF\nns.sub A 192.0.2.9\n"
                     b"*.wild A 192.0.2.3\ngen TYPE999 \\# 3 010203\nhinfo HINFO \"a\" \"b\"\n",
        "parens": b"multi TXT ( \"a\"\n \"b\" ) ; comment\n",
        "unclosed-paren": b"multi TXT ( \"a\"\n",
        "unclosed-quote": b"q TXT \"abc\n",
        "include": b"$INCLUDE other.zone\n",
        "class-ch": b"x CH TXT \"chaos\"\n",
        "bad-type": b"x BOGUS 1\n",
        "generic-a-wrong-length": b"x A \\# 3 010203\n",
        "escapes": b"a\\.b A 192.0.2.1\n\\065bc TXT \"\\\"q\\\"\"\n",
        "at-in-rdata": b"mx MX 5 @\n",
        "empty-label": b"a..b A 192.0.2.1\n",
        "outside-origin": b"www.example.org. A 192.0.2.1\n",
        "cname-and-other": b"c CNAME www\nc A 192.0.2.1\n",
        "long-label": b"a" * 64 + b" A 192.0.2.1\n",
        "ttl-units": b"$TTL 1h30m\nt 1w A 192.0.2.1\n",
        "crlf": b"crlf A 192.0.2.1\r\n",
        "no-final-newline": b"last A 192.0.2.1",
    }
    for label, extra in extras.items():
        seeds[label] = base + extra
    seeds["bom"] = b"\xef\xbb\xbf" + base
    seeds["empty"] = b""
    seeds["comment-only"] = b"; nothing here\n"
    seeds["no-soa"] = b"$ORIGIN example.test.\n@ NS ns1\n"
    seeds["two-soa"] = base + b"@ SOA a b 2 1 1 1 1\n"
    return seeds


def config_seeds():
    zone = '[[zone]]\norigin = "example.test."\nfile = "example.test.zone"\n'
    seeds = {
        "demo": (ROOT / "examples/demo/swivel.toml").read_text(),
        "minimal": zone,
        "full-server": '[server]\nlisten = ["0.0.0.0:53", "[::]:53"]\nworkers = 2\n'
                       'tcp_idle_timeout = "2s"\ntcp_max_connections = 256\ntcp_max_per_client = 8\n'
                       'state_dir = "/var/lib/swivel"\n[control]\nlisten = "127.0.0.1:8053"\n' + zone,
        "pools": zone + POOLS,
        "empty": "",
        "no-zone": '[server]\nlisten = ["127.0.0.1:53"]\n',
        "bad-address": '[server]\nlisten = ["127.0.0.1"]\n' + zone,
        "duplicate-listen": '[server]\nlisten = ["127.0.0.1:53", "127.0.0.1:53"]\n' + zone,
        "zero-limits": '[server]\ntcp_max_connections = 0\ntcp_max_per_client = 0\ntcp_idle_timeout = "0s"\n' + zone,
        "bad-duration": '[server]\ntcp_idle_timeout = "10 parsecs"\n' + zone,
        "too-many-workers": '[server]\nworkers = 100000\n' + zone,
        "unknown-key": '[server]\nlisten_on = ["127.0.0.1:53"]\n' + zone,
        "duplicate-zone": zone + zone,
        "bad-origin": '[[zone]]\norigin = "a..b"\nfile = ""\n',
        "broken-toml": '[server\nlisten = [\n',
        "control-clash": '[server]\nlisten = ["127.0.0.1:53"]\n[control]\nlisten = "127.0.0.1:53"\n' + zone,
        "pool-bad": zone + '[[pool]]\nname = "*.example.test."\n[pool.check]\nkind = "icmp"\n'
                    '[[pool.endpoint]]\naddress = "not-an-ip"\n',
    }
    return {label: text.encode() for label, text in seeds.items()}


POOLS = '''
[[pool]]
name = "www.example.test."
ttl = 30
ttl_degraded = 10
policy = "failover"
failback = "manual"
when_all_down = "serve-primary"
[pool.check]
kind = "http"
port = 8080
path = "/health"
host = "www.example.test"
expect_status = [200, 204]
expect_body = "ok"
interval = "1s"
timeout = "500ms"
fall = 3
rise = 2
[[pool.endpoint]]
address = "192.0.2.1"
priority = 1
weight = 1
check_address = "10.0.0.1"
[[pool.endpoint]]
address = "2001:db8::1"
priority = 2
weight = 5

[[pool]]
name = "api.example.test"
policy = "weighted"
[pool.check]
kind = "tcp"
port = 443
interval = "1m30s"
timeout = "2s"
[[pool.endpoint]]
address = "198.51.100.7"
'''

def soa_rdata(serial):
    return name("ns.example.test") + name("admin.example.test") + struct.pack(">IIIII", serial, 60, 10, 1024, 30)


def xfr_answer(qtype, records, qid=0x1234, rcode=0):
    """An answer to the xfr_client target's query (example.test., ID 0x1234)."""
    return (header(qid=qid, flags=0x8400 | rcode, an=len(records)) + question("example.test", qtype)
            + b"".join(records))


def xfr_seeds():
    """The xfr_client target's inputs: a mode byte (0 SOA, 1 AXFR, 2 IXFR; +4 keyed, +8
    signed by the target), then the primary's messages, each behind its length."""
    rr = lambda owner, rtype, rdata: record(name(owner), TYPES[rtype], rdata)
    soa = lambda serial: rr("example.test", "SOA", soa_rdata(serial))
    ns = rr("example.test", "NS", name("ns.example.test"))
    a = lambda owner, last: rr(owner, "A", bytes([192, 0, 2, last]))
    whole = [soa(9), ns, a("ns.example.test", 1), a("www.example.test", 2), soa(9)]
    steps = [soa(7), soa(5), a("ns.example.test", 1), soa(6), a("ns.example.test", 3),
             soa(6), soa(7), a("new.example.test", 4), soa(7)]
    seeds = {
        "soa": (0, [xfr_answer("SOA", [soa(9)])]),
        "soa-refused": (0, [xfr_answer("SOA", [], rcode=5)]),
        "axfr-one-message": (1, [xfr_answer("AXFR", whole)]),
        "axfr-three-messages": (1, [xfr_answer("AXFR", whole[:2]), xfr_answer("AXFR", whole[2:4]),
                                    xfr_answer("AXFR", whole[4:])]),
        "axfr-no-end": (1, [xfr_answer("AXFR", whole[:3])]),
        "axfr-wrong-id": (1, [xfr_answer("AXFR", whole, qid=0x4321)]),
        "ixfr-up-to-date": (2, [xfr_answer("IXFR", [soa(5)])]),
        "ixfr-needs-full": (2, [xfr_answer("IXFR", [soa(9)])]),
        "ixfr-two-steps": (2, [xfr_answer("IXFR", steps[:5]), xfr_answer("IXFR", steps[5:])]),
        "ixfr-as-axfr": (2, [xfr_answer("IXFR", whole)]),
        "ixfr-notimp": (2, [xfr_answer("IXFR", [], rcode=4)]),
        "axfr-unsigned-under-key": (5, [xfr_answer("AXFR", whole)]),
        "axfr-signed": (13, [xfr_answer("AXFR", whole[:2]), xfr_answer("AXFR", whole[2:])]),
        "ixfr-signed": (14, [xfr_answer("IXFR", steps[:5]), xfr_answer("IXFR", steps[5:])]),
        "soa-signed": (12, [xfr_answer("SOA", [soa(9)])]),
    }
    return {label: bytes([mode]) + framed(*messages) for label, (mode, messages) in seeds.items()}


if __name__ == "__main__":
    main()
