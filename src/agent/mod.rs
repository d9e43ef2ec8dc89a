//! The probe agent, `swivel probe`: runs the configured checks from where it stands and
//! reports every result to the responders in `[probe] report_to`, which count it as one
//! checker's view (see docs/MULTI-LOCATION.md).

pub mod url;
pub mod wire;

pub use url::ResponderUrl;
