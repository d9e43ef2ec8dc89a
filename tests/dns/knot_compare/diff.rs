//! Field-by-field comparison of two replies to the same query.

use crate::support::dns::msg::{self, Message, Record};

/// One field on which the two servers disagree.
#[derive(Debug)]
pub struct Difference {
    pub field: String,
    pub reference: String,
    pub candidate: String,
}

/// How a pair of replies compared.
#[derive(Debug)]
pub enum Verdict {
    /// Every compared field is equal.
    Identical,
    /// Both set TC; only header and question were compared, and they are equal.
    IdenticalTruncated,
    /// Neither server answered.
    BothSilent,
    Different(Vec<Difference>),
}

/// Compares the reply of the reference server with the candidate's.
pub fn compare(reference: Option<&[u8]>, candidate: Option<&[u8]>) -> Verdict {
    let (reference, candidate) = match (reference, candidate) {
        (None, None) => return Verdict::BothSilent,
        (Some(r), Some(c)) => (r, c),
        (r, c) => return single("reply", describe_presence(r), describe_presence(c)),
    };
    let (reference, candidate) = match (Message::parse(reference), Message::parse(candidate)) {
        (Ok(r), Ok(c)) => (r, c),
        (r, c) => return single("parse", describe_parse(&r), describe_parse(&c)),
    };
    let mut differences = Vec::new();
    let mut check = |field: &str, r: String, c: String| {
        if r != c {
            differences.push(Difference {
                field: field.to_string(),
                reference: r,
                candidate: c,
            });
        }
    };
    check("id", reference.id.to_string(), candidate.id.to_string());
    for (name, mask) in [
        ("QR", msg::FLAG_QR),
        ("AA", msg::FLAG_AA),
        ("TC", msg::FLAG_TC),
        ("RD", msg::FLAG_RD),
        ("RA", msg::FLAG_RA),
        ("Z", 0x0040),
        ("AD", msg::FLAG_AD),
        ("CD", msg::FLAG_CD),
    ] {
        check(
            name,
            reference.flag(mask).to_string(),
            candidate.flag(mask).to_string(),
        );
    }
    check(
        "opcode",
        reference.opcode().to_string(),
        candidate.opcode().to_string(),
    );
    check(
        "rcode",
        rcode_text(reference.rcode()),
        rcode_text(candidate.rcode()),
    );
    check(
        "question",
        msg::hex(&reference.question_bytes),
        msg::hex(&candidate.question_bytes),
    );
    let truncated = reference.flag(msg::FLAG_TC) && candidate.flag(msg::FLAG_TC);
    if !truncated {
        check("OPT", describe_opts(&reference), describe_opts(&candidate));
        check(
            "answer alias order",
            alias_order(&reference.answer),
            alias_order(&candidate.answer),
        );
        for (field, r, c) in [
            ("answer", &reference.answer, &candidate.answer),
            ("authority", &reference.authority, &candidate.authority),
            ("additional", &reference.additional, &candidate.additional),
        ] {
            if let Some((only_r, only_c)) = section_difference(r, c) {
                check(field, only_r, only_c);
            }
        }
    }
    match (differences.is_empty(), truncated) {
        (false, _) => Verdict::Different(differences),
        (true, true) => Verdict::IdenticalTruncated,
        (true, false) => Verdict::Identical,
    }
}

fn single(field: &str, reference: String, candidate: String) -> Verdict {
    Verdict::Different(vec![Difference {
        field: field.to_string(),
        reference,
        candidate,
    }])
}

fn describe_presence(reply: Option<&[u8]>) -> String {
    match reply {
        None => "no reply".to_string(),
        Some(bytes) => match Message::parse(bytes) {
            Ok(message) => format!(
                "{} bytes, rcode {}",
                bytes.len(),
                rcode_text(message.rcode())
            ),
            Err(error) => format!("{} unparsable bytes ({error})", bytes.len()),
        },
    }
}

fn describe_parse(result: &Result<Message, String>) -> String {
    match result {
        Ok(_) => "parses".to_string(),
        Err(error) => format!("unparsable: {error}"),
    }
}

/// Rcode number with its mnemonic.
pub fn rcode_text(rcode: u16) -> String {
    const NAMES: &[&str] = &[
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    match (rcode, NAMES.get(usize::from(rcode))) {
        (16, _) => "BADVERS(16)".to_string(),
        (_, Some(name)) => format!("{name}({rcode})"),
        (_, None) => format!("RCODE{rcode}"),
    }
}

fn describe_opts(message: &Message) -> String {
    if message.opts.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = message
        .opts
        .iter()
        .map(|opt| {
            let owner = if opt.owner_is_root {
                ""
            } else {
                " owner-not-root"
            };
            format!(
                "version {} DO {} udp {}{owner}",
                opt.version, opt.dnssec_ok, opt.udp_size
            )
        })
        .collect();
    parts.join("; ")
}

/// The CNAME and DNAME records of the answer section in the order they were sent (a
/// DNAME marked as such): the order of a chain is part of its meaning.
fn alias_order(answer: &[Record]) -> String {
    let chain: Vec<String> = answer
        .iter()
        .filter(|record| matches!(record.rtype, msg::TYPE_CNAME | msg::TYPE_DNAME))
        .map(|record| match record.rtype {
            msg::TYPE_DNAME => format!("DNAME {}", msg::name_to_text(&record.owner)),
            _ => msg::name_to_text(&record.owner),
        })
        .collect();
    chain.join(" -> ")
}

/// The records only in one or only in the other section, as sorted multisets; `None` if
/// the sections hold the same records.
fn section_difference(reference: &[Record], candidate: &[Record]) -> Option<(String, String)> {
    let mut only_reference: Vec<&Record> = reference.iter().collect();
    let mut only_candidate: Vec<&Record> = candidate.iter().collect();
    only_reference.sort();
    only_candidate.sort();
    only_reference.retain(
        |record| match only_candidate.iter().position(|other| other == record) {
            Some(at) => {
                only_candidate.remove(at);
                false
            }
            None => true,
        },
    );
    if only_reference.is_empty() && only_candidate.is_empty() {
        return None;
    }
    let list = |records: &[&Record]| {
        if records.is_empty() {
            return "(nothing else)".to_string();
        }
        let items: Vec<String> = records.iter().map(|record| record.to_string()).collect();
        format!("only here: [{}]", items.join(", "))
    };
    Some((list(&only_reference), list(&only_candidate)))
}
