//! DNSSEC: the zone's signing keys (read from the files BIND's and ldns's tools write), what
//! each key does at a given moment, and the records they give the parent (DS).

pub mod key;
pub mod keyfile;
pub mod keyset;
pub mod nsec;
pub mod rrsig;
pub mod signer;
pub mod time;

pub use key::{Algorithm, KeyState, Role, SigningKey};
pub use keyset::{Duty, ZoneKeys};
pub use signer::{DenialKind, SigningPolicy, ZoneSigner};
