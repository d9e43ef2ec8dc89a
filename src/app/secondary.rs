//! Secondary zones at load: a zone with no saved copy yet, or whose copy is older than the
//! SOA's expire time (no primary confirmed it since), is configured but not served; its
//! names answer SERVFAIL (`Loaded::unserved`), and pools in it wait for its next copy.

use crate::config::ZoneConfig;
use crate::name::Name;
use crate::wire::rtype;
use crate::xfr::message::soa_field;
use crate::xfr::saved;
use crate::zone::Zone;

/// Why a secondary zone's copy is not served, if it is not: `text` is the copy's text,
/// `now` seconds since 1970.
pub(super) fn expired(entry: &ZoneConfig, zone: &Zone, text: &[u8], now: u64) -> Option<String> {
    entry.secondary.as_ref()?;
    let soa = zone
        .records
        .iter()
        .find(|r| r.rtype == rtype::SOA && r.owner == zone.origin)?;
    let expire = u64::from(soa_field(&soa.rdata, 3)?);
    let last = saved::last_success(&entry.file, text)?;
    (now > last.saturating_add(expire)).then(|| {
        format!(
            "no primary has confirmed the copy for {} s, past the SOA expire time of {expire} s",
            now - last
        )
    })
}

/// Whether pool `name` lies in one of the `unserved` zones (and so waits for its copy).
pub(super) fn in_unserved(name: &Name, unserved: &[Name]) -> bool {
    unserved.iter().any(|origin| name.is_below_or_at(origin))
}
