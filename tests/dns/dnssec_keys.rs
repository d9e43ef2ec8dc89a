//! Signed zones' keys, made by the operators' tools (`dnssec-keygen`, `dnssec-settime` and
//! `dnssec-dsfromkey` from bind9-utils, `ldns-keygen` from ldnsutils): `swivel check` lists
//! each key with its tag, algorithm, duty and state and prints the DS records exactly as
//! `dnssec-dsfromkey -2` does; broken, unsupported, exposed or inactive keys are refused
//! naming the file.

use crate::support::process::{run_swivel, stderr, stdout};
use crate::support::skip;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n";

/// A folder with the zone, a configuration signing it with the keys in `keys/`, and that
/// folder (empty).
fn signed_zone_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.test.zone"), ZONE).unwrap();
    std::fs::write(
        dir.path().join("swivel.toml"),
        "[[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n\
         [zone.dnssec]\nkeys = \"keys\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    dir
}

/// Runs a key tool in `dir`; its stdout (the key's base name for the key generators).
pub(crate) fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// `dnssec-keygen -q <args>` in `keys`; the key's base name.
pub(crate) fn keygen(keys: &Path, args: &[&str]) -> String {
    tool(keys, "dnssec-keygen", &[&["-q"], args].concat())
}

pub(crate) fn tools_missing(test: &str, programs: &[&str]) -> bool {
    for program in programs {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            skip(
                test,
                &format!(
                    "{program} is not installed (bind9-utils, ldnsutils, unbound, knot-dnsutils)"
                ),
            );
            return true;
        }
    }
    false
}

fn check(dir: &Path) -> (bool, String, String) {
    let config = dir.join("swivel.toml");
    let output = run_swivel(&["check", "--config", config.to_str().unwrap()]);
    (output.status.success(), stdout(&output), stderr(&output))
}

/// The tag of a key from its base name `Kexample.test.+013+37088`.
fn tag_of(base: &str) -> u16 {
    base.rsplit('+').next().unwrap().parse().unwrap()
}

#[test]
fn bind_keys_are_listed_with_the_ds_dnssec_dsfromkey_gives() {
    let test = "bind_keys_are_listed_with_the_ds_dnssec_dsfromkey_gives";
    if tools_missing(test, &["dnssec-keygen", "dnssec-dsfromkey"]) {
        return;
    }
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    let ksk = keygen(
        &keys,
        &["-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"],
    );
    let zsk = keygen(&keys, &["-a", "ECDSAP256SHA256", "example.test"]);
    // A key of another zone in the same folder is not the zone's.
    keygen(&keys, &["-a", "ECDSAP256SHA256", "other.test"]);
    let (ok, out, err) = check(dir.path());
    assert!(
        out.contains("zone example.test.: signed, 2 keys"),
        "{out}\n{err}"
    );
    let ksk_line = format!(
        "key {} algorithm 13 (ECDSAP256SHA256) KSK active",
        tag_of(&ksk)
    );
    let zsk_line = format!(
        "key {} algorithm 13 (ECDSAP256SHA256) ZSK active",
        tag_of(&zsk)
    );
    assert!(out.contains(&ksk_line), "{out}");
    assert!(out.contains(&zsk_line), "{out}");
    let ds = tool(&keys, "dnssec-dsfromkey", &["-2", &format!("{ksk}.key")]);
    assert!(ds.starts_with("example.test. IN DS "), "{ds}");
    assert!(
        out.contains(&format!("DS for the parent: {ds}")),
        "{out}\nwanted {ds}"
    );
    let zsk_ds = tool(&keys, "dnssec-dsfromkey", &["-2", &format!("{zsk}.key")]);
    assert!(
        !out.contains(&zsk_ds),
        "a ZSK has no DS at the parent: {out}"
    );
    assert!(ok, "check refused a zone it can sign: {err}");
}

#[test]
fn an_ldns_ed25519_key_is_a_csk_with_the_ds_ldns_keygen_wrote() {
    let test = "an_ldns_ed25519_key_is_a_csk_with_the_ds_ldns_keygen_wrote";
    if tools_missing(test, &["ldns-keygen"]) {
        return;
    }
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    let base = tool(
        &keys,
        "ldns-keygen",
        &["-a", "ED25519", "-k", "example.test"],
    );
    // ldns-keygen writes the private key with the umask's mode; a private key must be the
    // owner's alone.
    let private = keys.join(format!("{base}.private"));
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, out, err) = check(dir.path());
    let line = format!("key {} algorithm 15 (ED25519) CSK active", tag_of(&base));
    assert!(out.contains(&line), "{out}\n{err}");
    // ldns-keygen writes the SHA-256 DS beside the key (fields separated by tabs).
    let ldns_ds = std::fs::read_to_string(keys.join(format!("{base}.ds"))).unwrap();
    let fields: Vec<&str> = ldns_ds.split_whitespace().collect();
    let digest = fields.last().unwrap().to_uppercase();
    assert_eq!(fields[fields.len() - 2], "2", "{ldns_ds}");
    assert!(
        out.contains(&format!("IN DS {} 15 2 {digest}", tag_of(&base))),
        "{out}\nldns wrote {ldns_ds}"
    );
}

#[test]
fn exposed_unsupported_and_foreign_keys_are_refused_naming_the_file() {
    let test = "exposed_unsupported_and_foreign_keys_are_refused_naming_the_file";
    if tools_missing(test, &["dnssec-keygen"]) {
        return;
    }
    // A private key others can read.
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    let base = keygen(
        &keys,
        &["-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"],
    );
    let private = keys.join(format!("{base}.private"));
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = check(dir.path());
    assert!(!ok);
    assert!(err.contains(&format!("{base}.private")), "{err}");
    assert!(err.contains("other than its owner (mode 644)"), "{err}");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, _, err) = check(dir.path());
    assert!(
        !err.contains("other than its owner"),
        "negative control: {err}"
    );

    // RSA is not supported.
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    let rsa = keygen(&keys, &["-a", "RSASHA256", "-b", "2048", "example.test"]);
    let (ok, _, err) = check(dir.path());
    assert!(!ok);
    assert!(err.contains(&format!("{rsa}.key")), "{err}");
    assert!(
        err.contains("algorithm 8 (RSASHA256) is not supported"),
        "{err}"
    );

    // No key at all.
    let dir = signed_zone_dir();
    let (ok, _, err) = check(dir.path());
    assert!(!ok);
    assert!(
        err.contains("swivel.toml:5:") && err.contains("holds no key pair"),
        "{err}"
    );

    // A .key file that is not a DNSKEY.
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    std::fs::write(keys.join("Kexample.test.+013+00001.key"), "; nothing\n").unwrap();
    std::fs::write(
        keys.join("Kexample.test.+013+00001.private"),
        "Algorithm: 13\n",
    )
    .unwrap();
    std::fs::set_permissions(
        keys.join("Kexample.test.+013+00001.private"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let (ok, _, err) = check(dir.path());
    assert!(!ok);
    assert!(
        err.contains("Kexample.test.+013+00001.key: no DNSKEY record"),
        "{err}"
    );
}

#[test]
fn key_timing_decides_which_keys_sign() {
    let test = "key_timing_decides_which_keys_sign";
    if tools_missing(test, &["dnssec-keygen", "dnssec-settime"]) {
        return;
    }
    let dir = signed_zone_dir();
    let keys = dir.path().join("keys");
    let ksk = keygen(&keys, &["-a", "ED25519", "-f", "KSK", "example.test"]);
    let zsk = keygen(&keys, &["-a", "ED25519", "example.test"]);
    // A successor ZSK published now, active in a day: listed as published.
    let next = keygen(
        &keys,
        &["-a", "ED25519", "-P", "now", "-A", "now+1d", "example.test"],
    );
    let (_, out, err) = check(dir.path());
    assert!(
        out.contains(&format!(
            "key {} algorithm 15 (ED25519) ZSK published",
            tag_of(&next)
        )),
        "{out}\n{err}"
    );
    assert!(
        out.contains(&format!(
            "key {} algorithm 15 (ED25519) ZSK active",
            tag_of(&zsk)
        )),
        "{out}"
    );
    // The active ZSK retired an hour ago: no ZSK signs now.
    tool(&keys, "dnssec-settime", &["-I", "now-1h", &zsk]);
    let (ok, out, err) = check(dir.path());
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "key {} algorithm 15 (ED25519) ZSK retired",
            tag_of(&zsk)
        )),
        "{out}"
    );
    assert!(err.contains("no ZSK (flags 256) is active now"), "{err}");
    // Deleted: gone from the list; the KSK alone is then a CSK and signs everything.
    tool(&keys, "dnssec-settime", &["-D", "now-1mi", &zsk]);
    tool(&keys, "dnssec-settime", &["-D", "now-1mi", &next]);
    let (_, out, err) = check(dir.path());
    assert!(
        out.contains(&format!(
            "key {} algorithm 15 (ED25519) CSK active",
            tag_of(&ksk)
        )),
        "{out}\n{err}"
    );
    // Deleted keys are listed as such (their files are still there) and do nothing.
    assert!(
        out.contains(&format!(
            "key {} algorithm 15 (ED25519) ZSK deleted",
            tag_of(&zsk)
        )),
        "{out}"
    );
    assert!(!err.contains("is active now"), "{err}");
}
