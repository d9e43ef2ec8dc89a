//! The test zone `example.test.` that most tests serve, so that it is written once. Tests
//! that need records of their own keep their own zone text.

/// The apex: SOA, NS and the name server's address.
macro_rules! apex {
    () => {
        "\
$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 60
@    NS  ns1
ns1  A   192.0.2.53
"
    };
}

/// `example.test.`: only the apex (SOA, NS, ns1 A 192.0.2.53); failover tests add pools.
pub const APEX: &str = apex!();

/// `example.test.` with `www` A 192.0.2.10 and AAAA 2001:db8::10.
pub const WWW: &str = concat!(apex!(), "www  A    192.0.2.10\nwww  AAAA 2001:db8::10\n");

/// `example.test.` with `www` A 192.0.2.80 (the RRL test).
pub const WWW_80: &str = concat!(apex!(), "www  A    192.0.2.80\n");

/// Writes `text` as `example.test.zone` in `dir`.
pub fn write(dir: &std::path::Path, text: &str) {
    std::fs::write(dir.join("example.test.zone"), text).expect("write example.test.zone");
}
