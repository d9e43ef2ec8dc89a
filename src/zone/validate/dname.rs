//! The DNAME rules (RFC 6672), as Knot DNS applies them when it loads a zone: one DNAME
//! per name, no NS beside a DNAME except at the apex, and nothing below a DNAME, which
//! would be hidden by it (section 2.4). A CNAME beside a DNAME is refused by the CNAME
//! rule already.

use super::type_name;
use crate::diag::Diagnostic;
use crate::name::Name;
use crate::wire::rtype;
use crate::zone::Record;
use std::collections::HashMap;
use std::path::Path;

/// Refuses a second DNAME at a name, NS beside a DNAME below the apex, and every record
/// below a DNAME.
pub(super) fn check_dnames(
    origin: &Name,
    path: &Path,
    records: &[Record],
    diagnostics: &mut Vec<Diagnostic>,
) {
    // The first DNAME of each owner, by owner.
    let mut dnames: HashMap<&Name, usize> = HashMap::new();
    for record in records.iter().filter(|r| r.rtype == rtype::DNAME) {
        match dnames.get(&record.owner) {
            Some(&first) => diagnostics.push(Diagnostic::new(
                path,
                record.line,
                format!(
                    "second DNAME at {} (the first is at line {first}); a name has at most one",
                    record.owner
                ),
            )),
            None => {
                dnames.insert(&record.owner, record.line);
            }
        }
    }
    if dnames.is_empty() {
        return;
    }
    for record in records {
        if record.rtype == rtype::NS && record.owner != *origin {
            if let Some(&line) = dnames.get(&record.owner) {
                diagnostics.push(Diagnostic::new(
                    path,
                    record.line,
                    format!(
                        "NS at {} beside the DNAME at line {line}; only the zone apex may have both",
                        record.owner
                    ),
                ));
            }
        }
        let mut above = record.owner.parent();
        while let Some(ancestor) = above {
            if let Some(&line) = dnames.get(&ancestor) {
                diagnostics.push(Diagnostic::new(
                    path,
                    record.line,
                    format!(
                        "{} {} is below the DNAME at {ancestor} (line {line}), which hides it \
                         (RFC 6672 section 2.4)",
                        record.owner,
                        type_name(record.rtype)
                    ),
                ));
                break;
            }
            if ancestor == *origin {
                break;
            }
            above = ancestor.parent();
        }
    }
}
