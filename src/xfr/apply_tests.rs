//! IXFR steps applied to a copy.

use super::super::transfer::tests::{record, soa};
use super::*;
use crate::wire::rtype;

fn a(owner: &str, last: u8) -> Record {
    record(owner, rtype::A, &[192, 0, 2, last])
}

#[test]
fn steps_delete_and_add_records_in_order() {
    let zone = vec![
        soa(5),
        a("www.example.test.", 1),
        a("www.example.test.", 2),
        a("old.example.test.", 3),
    ];
    let changes = vec![
        Change {
            from: 5,
            to: 6,
            deleted: vec![soa(5), a("www.example.test.", 2)],
            added: vec![soa(6), a("new.example.test.", 4)],
        },
        Change {
            from: 6,
            to: 7,
            // Deletes what the step before added, and a TTL does not matter for matching.
            deleted: vec![
                soa(6),
                Record {
                    ttl: 1,
                    ..a("new.example.test.", 4)
                },
            ],
            added: vec![soa(7), a("old.example.test.", 3)],
        },
    ];
    let applied = apply(&zone, &changes).unwrap();
    assert_eq!(
        applied,
        vec![a("www.example.test.", 1), a("old.example.test.", 3), soa(7)]
    );
}

#[test]
fn deleting_a_record_the_copy_lacks_is_an_error() {
    let zone = vec![soa(5), a("www.example.test.", 1)];
    let changes = vec![Change {
        from: 5,
        to: 6,
        deleted: vec![soa(5), a("www.example.test.", 9)],
        added: vec![soa(6)],
    }];
    let error = apply(&zone, &changes).unwrap_err();
    assert!(error.contains("www.example.test."), "{error}");
}
