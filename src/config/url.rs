//! The address of a responder in `[probe] report_to`: `https://ns1.example.net:8053` or,
//! for loopback and tests, `http://127.0.0.1:8053`, optionally with a path prefix when a
//! reverse proxy serves the control API under one.

use std::fmt;
use std::net::IpAddr;

/// Where reports go, after `/v1/reports` is added to the prefix.
pub const REPORTS_PATH: &str = "/v1/reports";

/// One parsed `report_to` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponderUrl {
    /// `https` (certificate verified) rather than `http`.
    pub tls: bool,
    /// A name or an IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The path before `/v1/reports`, without a final slash (usually empty).
    pub prefix: String,
    /// As written, for logs.
    pub text: String,
}

impl ResponderUrl {
    /// Parses `scheme://host[:port][/prefix]`; the port defaults to 80 or 443.
    pub fn parse(text: &str) -> Result<ResponderUrl, String> {
        let uri: hyper::Uri = text.parse().map_err(|_| {
            format!("{text:?} is not a URL such as \"https://ns1.example.net:8053\"")
        })?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{text:?}: use an https:// or http:// URL")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{text:?}: the URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "{text:?}: no user name in the URL; the token is the [probe] token"
            ));
        }
        if uri.query().is_some() {
            return Err(format!("{text:?}: no query string in the URL"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(format!("{text:?}: the URL has no host"));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(ResponderUrl {
            tls,
            host,
            port,
            prefix: uri.path().trim_end_matches('/').to_string(),
            text: text.to_string(),
        })
    }

    /// The path reports are posted to.
    pub fn reports_path(&self) -> String {
        format!("{}{REPORTS_PATH}", self.prefix)
    }

    /// `host:port` for connecting and for the Host header (IPv6 in brackets).
    pub fn authority(&self) -> String {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// Whether the host is a loopback address or `localhost`: plain http stays on the machine.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Debug for ResponderUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for ResponderUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_defaults_prefixes_and_ipv6() {
        let url = ResponderUrl::parse("https://ns1.example.net:8053").unwrap();
        assert!(url.tls && !url.is_loopback());
        assert_eq!((url.host.as_str(), url.port), ("ns1.example.net", 8053));
        assert_eq!(url.reports_path(), "/v1/reports");
        let proxied = ResponderUrl::parse("https://ns2.example.net/swivel/").unwrap();
        assert_eq!(
            (proxied.port, proxied.reports_path().as_str()),
            (443, "/swivel/v1/reports")
        );
        let v6 = ResponderUrl::parse("http://[::1]:8053").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority().as_str()),
            ("::1", "[::1]:8053")
        );
        assert!(v6.is_loopback() && !v6.tls);
        assert_eq!(ResponderUrl::parse("http://localhost").unwrap().port, 80);
        assert!(ResponderUrl::parse("http://127.0.0.1:1")
            .unwrap()
            .is_loopback());
    }

    #[test]
    fn refuses_what_is_not_a_responder_address() {
        for bad in [
            "ns1.example.net:8053",
            "ftp://ns1.example.net",
            "https://user:pw@ns1.example.net",
            "https://ns1.example.net/?x=1",
            "",
        ] {
            assert!(ResponderUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
