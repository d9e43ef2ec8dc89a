use super::*;

fn name(text: &str) -> Name {
    Name::from_text(text).unwrap()
}

/// The SOA of `example.test.` with `serial`.
fn soa(serial: u32) -> Record {
    let mut rdata = Vec::new();
    rdata.extend_from_slice(name("ns.example.test.").as_wire());
    rdata.extend_from_slice(name("hostmaster.example.test.").as_wire());
    for field in [serial, 3600, 600, 86400, 60] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    Record {
        owner: name("example.test."),
        rtype: 6,
        ttl: 300,
        rdata,
        line: 0,
    }
}

fn a(owner: &str, last: u8) -> Record {
    Record {
        owner: name(owner),
        rtype: 1,
        ttl: 300,
        rdata: vec![192, 0, 2, last],
        line: 0,
    }
}

fn change(from: u32, to: u32, added: Vec<Record>) -> Change {
    Change {
        from: soa(from),
        to: soa(to),
        deleted: Vec::new(),
        added,
    }
}

#[test]
fn a_diff_deletes_what_went_and_adds_what_came_ttl_changes_included() {
    let old = vec![
        a("a.example.test.", 1),
        a("b.example.test.", 2),
        a("b.example.test.", 2),
    ];
    let mut longer = a("c.example.test.", 3);
    let mut new = vec![a("b.example.test.", 2), a("c.example.test.", 3)];
    longer.ttl = 600;
    new.push(longer.clone());
    let (deleted, added) = diff(&old, &new);
    assert_eq!(
        deleted,
        vec![a("a.example.test.", 1), a("b.example.test.", 2)]
    );
    assert_eq!(added, vec![a("c.example.test.", 3), longer]);
    assert_eq!(diff(&new, &new), (Vec::new(), Vec::new()));
}

#[test]
fn since_gives_the_chain_from_a_serial_and_none_when_it_does_not_reach_back() {
    let mut journal = Journal::new(DEFAULT_MAX_BYTES);
    assert!(journal.since(1).is_none());
    journal.push(change(1, 2, vec![a("x.example.test.", 1)]), [1; 32]);
    journal.push(change(2, 5, vec![a("y.example.test.", 2)]), [2; 32]);
    fn serials(journal: &Journal, from: u32) -> Option<Vec<(u32, u32)>> {
        let chain = journal.since(from)?;
        Some(
            chain
                .iter()
                .map(|c| (c.from_serial(), c.to_serial()))
                .collect(),
        )
    }
    assert_eq!(serials(&journal, 1), Some(vec![(1, 2), (2, 5)]));
    assert_eq!(serials(&journal, 2), Some(vec![(2, 5)]));
    assert_eq!(
        serials(&journal, 5),
        None,
        "the end: the client is current, no chain"
    );
    assert_eq!(serials(&journal, 0), None, "older than the journal");
    assert_eq!(serials(&journal, 3), None, "a serial the zone never had");
    assert_eq!(journal.tip(), Some((5, [2; 32])));
    // A change that does not start where the journal ends starts it again.
    journal.push(change(9, 10, Vec::new()), [3; 32]);
    assert_eq!(journal.len(), 1);
    assert_eq!(serials(&journal, 9), Some(vec![(9, 10)]));
}

#[test]
fn the_oldest_changes_go_first_when_the_journal_outgrows_its_bound() {
    let one = change(1, 2, vec![a("x.example.test.", 1)]).size();
    let mut journal = Journal::new(one * 2);
    for serial in 1..=4u32 {
        journal.push(
            change(serial, serial + 1, vec![a("x.example.test.", serial as u8)]),
            [0; 32],
        );
    }
    let kept: Vec<u32> = journal.changes().map(Change::from_serial).collect();
    assert_eq!(kept, vec![3, 4]);
    assert_eq!(journal.bytes(), one * 2);
    assert!(journal.since(2).is_none(), "dropped");
    assert!(journal.since(3).is_some());
    // A change larger than the bound alone leaves nothing (the tip still moves).
    let mut small = Journal::new(10);
    small.push(change(1, 2, vec![a("x.example.test.", 1)]), [7; 32]);
    assert!(small.is_empty());
    assert_eq!(small.tip(), Some((2, [7; 32])));
}

#[test]
fn a_journal_reads_back_from_its_file_and_a_damaged_one_is_an_error() {
    let mut journal = Journal::new(DEFAULT_MAX_BYTES);
    let mut gone = change(1, 2, vec![a("x.example.test.", 1)]);
    gone.deleted.push(a("y.example.test.", 9));
    journal.push(gone, [4; 32]);
    journal.push(change(2, 3, Vec::new()), [5; 32]);
    let bytes = journal.encode();
    assert_eq!(Journal::decode(&bytes, DEFAULT_MAX_BYTES).unwrap(), journal);
    assert!(Journal::decode(&bytes[..bytes.len() - 1], DEFAULT_MAX_BYTES).is_err());
    assert!(Journal::decode(b"SWJRNL2\n", DEFAULT_MAX_BYTES).is_err());
    let dir = std::env::temp_dir().join(format!("swivel-journal-{}", std::process::id()));
    let path = journal_path(&dir, &name("example.test."));
    assert!(
        path.ends_with("journal/example.test.journal"),
        "{}",
        path.display()
    );
    assert_eq!(
        load(&path, DEFAULT_MAX_BYTES).unwrap(),
        Journal::new(DEFAULT_MAX_BYTES)
    );
    save(&path, &journal).unwrap();
    assert_eq!(load(&path, DEFAULT_MAX_BYTES).unwrap(), journal);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_digest_ignores_order_and_sees_every_byte() {
    let records = vec![a("a.example.test.", 1), a("b.example.test.", 2)];
    let swapped = vec![records[1].clone(), records[0].clone()];
    assert_eq!(digest(&soa(1), &records), digest(&soa(1), &swapped));
    assert_ne!(digest(&soa(1), &records), digest(&soa(2), &records));
    assert_ne!(digest(&soa(1), &records), digest(&soa(1), &records[..1]));
}
