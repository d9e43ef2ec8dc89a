//! Deliberate differences from knotd, read from `tests/data/compare/deliberate.txt`.
//!
//! Line format: `QUERY LINE | FIELD | SWIVEL'S VALUE | REASON`. A waiver covers one field
//! of the replies to one corpus line (and its mixed-case variants), and only while
//! Swivel's value is exactly the one written, so any change in behaviour shows up again.

use super::diff::Difference;

/// One accepted difference.
#[derive(Debug)]
pub struct Waiver {
    pub line: String,
    pub field: String,
    pub candidate: String,
    pub reason: String,
    /// Where it is written, for reports.
    pub source: String,
}

impl Waiver {
    /// Whether this waiver accepts `difference` on the query written as `line`.
    pub fn covers(&self, line: &str, difference: &Difference) -> bool {
        self.line == line
            && self.field == difference.field
            && self.candidate == difference.candidate
    }
}

/// Parses the waiver file.
pub fn parse_waivers(text: &str, source: &str) -> Result<Vec<Waiver>, String> {
    let mut waivers = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
        let [query, field, candidate, reason] = parts[..] else {
            return Err(format!(
                "{source}:{}: expected QUERY | FIELD | VALUE | REASON",
                index + 1
            ));
        };
        if reason.is_empty() {
            return Err(format!(
                "{source}:{}: a deliberate difference needs a reason",
                index + 1
            ));
        }
        waivers.push(Waiver {
            line: query.to_string(),
            field: field.to_string(),
            candidate: candidate.to_string(),
            reason: reason.to_string(),
            source: format!("{source}:{}", index + 1),
        });
    }
    Ok(waivers)
}
