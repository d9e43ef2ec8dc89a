//! The query corpus: `tests/data/compare/queries.txt` (one query per line) plus
//! deterministic random NXDOMAIN, wildcard and mixed-case variants.
//!
//! Line format: `NAME TYPE [OPTION ...]`, `#` starts a comment. Defaults: class IN, opcode
//! QUERY, RD clear, EDNS version 0 with a 1232-byte buffer and DO clear, UDP. Options:
//! `rd` `cd` `ad` `qr` set a header flag; `noedns`; `bufsize=N`; `do`; `ednsver=N`;
//! `ednsopt=CODE:HEX` (repeatable); `twoopt` (a second OPT record); `opcode=N`;
//! `qdcount=N` (the question repeated N times); `class=IN|CH|HS|NONE|ANY|N`; `tcp`;
//! `timeout=MS` (for queries both servers are expected to ignore).

use super::servers::Transport;
use crate::support::dns::msg::{self, EdnsSpec, QuerySpec};
use std::time::Duration;

/// The usual wait for a reply.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// One query of the corpus.
#[derive(Clone, Debug)]
pub struct CorpusQuery {
    /// Where it came from and what it is, for reports.
    pub label: String,
    /// The corpus line (for a mixed-case variant: the line it was made from).
    pub line: String,
    pub spec: QuerySpec,
    pub transport: Transport,
    pub timeout: Duration,
}

/// Parses the corpus text; `source` names the file in labels and errors.
pub fn parse_corpus(text: &str, source: &str) -> Result<Vec<CorpusQuery>, String> {
    let mut queries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let query =
            parse_line(line, queries.len()).map_err(|e| format!("{source}:{}: {e}", index + 1))?;
        queries.push(CorpusQuery {
            label: format!("{source}:{} `{line}`", index + 1),
            ..query
        });
    }
    Ok(queries)
}

/// A deterministic query id from the position in the corpus.
fn query_id(index: usize) -> u16 {
    (index as u16).wrapping_mul(40503).wrapping_add(0x1d3)
}

fn parse_line(line: &str, index: usize) -> Result<CorpusQuery, String> {
    let mut words = line.split_whitespace();
    let name = words.next().ok_or("missing name")?;
    let qtype = words.next().ok_or("missing type")?;
    let mut spec = QuerySpec {
        id: query_id(index),
        flags: 0,
        opcode: 0,
        qname: msg::name_to_wire(name).ok_or_else(|| format!("bad name {name}"))?,
        qtype: msg::type_from_text(qtype).ok_or_else(|| format!("bad type {qtype}"))?,
        qclass: 1,
        qdcount: 1,
        edns: vec![EdnsSpec {
            udp_size: 1232,
            version: 0,
            dnssec_ok: false,
            options: Vec::new(),
        }],
    };
    let mut transport = Transport::Udp;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut use_edns = true;
    let mut two_opts = false;
    for option in words {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("bad number in {option}"))
        };
        let edns = &mut spec.edns[0];
        match key {
            "rd" => spec.flags |= msg::FLAG_RD,
            "cd" => spec.flags |= msg::FLAG_CD,
            "ad" => spec.flags |= msg::FLAG_AD,
            "qr" => spec.flags |= msg::FLAG_QR,
            "noedns" => use_edns = false,
            "bufsize" => edns.udp_size = number()? as u16,
            "do" => edns.dnssec_ok = true,
            "ednsver" => edns.version = number()? as u8,
            "ednsopt" => edns.options.push(parse_edns_option(value)?),
            "twoopt" => two_opts = true,
            "opcode" => spec.opcode = number()? as u8,
            "qdcount" => spec.qdcount = number()? as u16,
            "class" => {
                spec.qclass =
                    msg::class_from_text(value).ok_or_else(|| format!("bad class {value}"))?
            }
            "tcp" => transport = Transport::Tcp,
            "timeout" => timeout = Duration::from_millis(number()?),
            _ => return Err(format!("unknown option {option}")),
        }
    }
    if !use_edns {
        spec.edns.clear();
    } else if two_opts {
        spec.edns.push(spec.edns[0].clone());
    }
    Ok(CorpusQuery {
        label: String::new(),
        line: line.to_string(),
        spec,
        transport,
        timeout,
    })
}

fn parse_edns_option(value: &str) -> Result<(u16, Vec<u8>), String> {
    let (code, data) = value.split_once(':').unwrap_or((value, ""));
    let code = code
        .parse()
        .map_err(|_| format!("bad option code {code}"))?;
    if data.len() % 2 != 0 {
        return Err(format!("odd hex length in {data}"));
    }
    let bytes = (0..data.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&data[at..at + 2], 16).map_err(|_| format!("bad hex {data}")))
        .collect::<Result<Vec<u8>, String>>()?;
    Ok((code, bytes))
}

/// A xorshift64 generator: deterministic variants without a `rand` dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn label(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";
        let len = 6 + self.below(10);
        let mut label: String = (0..len).map(|_| ALPHABET[self.below(26)] as char).collect();
        // A hyphen or digit in the middle only: keeps the label a valid host name.
        let middle = 1 + self.below(len - 2);
        label.replace_range(
            middle..=middle,
            &(ALPHABET[26 + self.below(11)] as char).to_string(),
        );
        label
    }
}

const RANDOM_TYPES: &[&str] = &[
    "A", "AAAA", "MX", "TXT", "NS", "SOA", "SRV", "CAA", "PTR", "DS",
];

/// Deterministic extra queries: `nxdomain` random names in the zone, `wildcard` random
/// names under `*.wild` (one and two labels deep), and `mixed_case` copies of corpus
/// queries with randomly cased names.
pub fn generated(
    base: &[CorpusQuery],
    origin: &str,
    nxdomain: usize,
    wildcard: usize,
    mixed_case: usize,
) -> Vec<CorpusQuery> {
    let mut rng = XorShift(0x5317_e1d0_c0ff_ee11);
    let mut lines = Vec::new();
    for _ in 0..nxdomain {
        let qtype = RANDOM_TYPES[rng.below(RANDOM_TYPES.len())];
        let edns = if rng.below(4) == 0 { " noedns" } else { "" };
        lines.push(format!("{}.{origin} {qtype}{edns}", rng.label()));
    }
    for round in 0..wildcard {
        let qtype = RANDOM_TYPES[rng.below(RANDOM_TYPES.len())];
        let deeper = if round % 3 == 0 {
            format!("{}.", rng.label())
        } else {
            String::new()
        };
        lines.push(format!("{deeper}{}.wild.{origin} {qtype}", rng.label()));
    }
    let mut queries: Vec<CorpusQuery> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let query = parse_line(line, base.len() + index).expect("generated line parses");
            CorpusQuery {
                label: format!("generated `{line}`"),
                ..query
            }
        })
        .collect();
    let with_names: Vec<&CorpusQuery> = base
        .iter()
        .filter(|query| query.spec.qdcount == 1)
        .collect();
    for round in 0..mixed_case {
        let original = with_names[rng.below(with_names.len())];
        let mut query = original.clone();
        for byte in query
            .spec
            .qname
            .iter_mut()
            .filter(|byte| byte.is_ascii_alphabetic())
        {
            if rng.below(2) == 0 {
                byte.make_ascii_uppercase();
            } else {
                byte.make_ascii_lowercase();
            }
        }
        query.spec.id = query_id(base.len() + lines.len() + round);
        query.label = format!(
            "mixed case of {}: {}",
            original.label,
            msg::name_to_text(&query.spec.qname)
        );
        queries.push(query);
    }
    queries
}
