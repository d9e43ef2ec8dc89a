//! kdig as a client of the geo tests: A records and the EDNS Client Subnet option of a
//! reply, as kdig prints them, for a subnet and from a source address of the test's choice.

use super::skip;
use std::net::SocketAddr;
use std::process::Command;

/// An answer as kdig printed it: the A addresses and the ECS option (`10.1.2.0/24/16`).
#[derive(Debug, PartialEq, Eq)]
pub struct Dug {
    pub addresses: Vec<String>,
    pub subnet: Option<String>,
}

/// `kdig` for the A records of `name`, with `+subnet=` when `subnet` is given, from
/// `source` when given.
pub fn dig(server: SocketAddr, name: &str, subnet: Option<&str>, source: Option<&str>) -> Dug {
    let mut command = Command::new("kdig");
    command.arg(format!("@{}", server.ip())).args([
        "-p",
        &server.port().to_string(),
        "+timeout=2",
        "+retry=1",
    ]);
    if let Some(subnet) = subnet {
        command.arg(format!("+subnet={subnet}"));
    }
    if let Some(source) = source {
        command.args(["-b", source]);
    }
    let output = command.args([name, "A"]).output().expect("run kdig");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let answer = text.split(";; ANSWER SECTION:").nth(1).unwrap_or("");
    let addresses = answer
        .lines()
        .take_while(|l| !l.trim().is_empty() || l.is_empty())
        .filter(|l| l.contains("\tA\t"))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    let subnet = text
        .split("CLIENT-SUBNET: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string);
    Dug { addresses, subnet }
}

pub fn kdig_missing(test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v kdig"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(test, "kdig is not installed (knot-dnsutils)");
    }
    !found
}
