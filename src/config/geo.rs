//! Routing by client network: the `[server.geo]` table (where countries, continents, ASNs
//! and regions come from) and the `[[pool.route]]` tables of a pool (which clients go to
//! which sites, in order of preference).
//!
//! ```toml
//! [server.geo]
//! database = "GeoLite2-Country.mmdb"   # optional: MaxMind DB, for country:, continent:, asn:
//! nets = "regions.nets"                # optional: "CIDR region" lines, for region:
//!
//! [[pool.route]]                       # first match wins
//! match = ["10.1.0.0/16", "region:eu-lab", "country:DE", "continent:EU", "asn:64500"]
//! sites = ["fra", "iad"]               # the endpoints' `site`s, best first
//! [[pool.route]]
//! match = ["default"]                  # every other client; the last route must have it
//! sites = ["iad", "fra"]
//! ```

use super::net::Net;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// The most routes one pool may have.
pub const MAX_ROUTES: usize = 1000;

/// The `[server.geo]` table, paths resolved against the configuration's folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoConfig {
    /// A MaxMind database (country, city or ASN edition).
    pub database: Option<PathBuf>,
    /// A nets file: one `CIDR region` per line, `#` comments.
    pub nets: Option<PathBuf>,
    /// Line of the `[server.geo]` keys, for errors about the files.
    pub line: usize,
}

/// One `[[pool.route]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Which clients the route takes: any one match is enough.
    #[serde(rename = "match")]
    pub matches: Vec<Matcher>,
    /// The sites that serve them, in order of preference.
    pub sites: Vec<String>,
}

/// One entry of a route's `match` list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Matcher {
    /// A client network: `"10.1.0.0/16"`, `"2001:db8::/32"`.
    Net(Net),
    /// `"region:NAME"`: the networks of that region in the nets file.
    Region(String),
    /// `"country:DE"`: ISO 3166 code, as the MaxMind database has it.
    Country(String),
    /// `"continent:EU"`: AF, AN, AS, EU, NA, OC or SA.
    Continent(String),
    /// `"asn:64500"`: the networks the (ASN) database gives that autonomous system.
    Asn(u32),
    /// `"default"`: every client no earlier route took.
    Default,
}

/// The continent codes MaxMind databases use.
pub const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

impl Matcher {
    /// Whether this match needs the MaxMind database.
    pub fn needs_database(&self) -> bool {
        matches!(
            self,
            Matcher::Country(_) | Matcher::Continent(_) | Matcher::Asn(_)
        )
    }
}

impl TryFrom<String> for Matcher {
    type Error = String;

    fn try_from(text: String) -> Result<Matcher, String> {
        if text == "default" {
            return Ok(Matcher::Default);
        }
        let Some((kind, value)) = text
            .split_once(':')
            .filter(|(k, _)| matches!(*k, "region" | "country" | "continent" | "asn"))
        else {
            return text.parse().map(Matcher::Net).map_err(|e| {
                format!("{e}; a match is a network, region:NAME, country:CC, continent:CC, asn:NUMBER or default")
            });
        };
        match kind {
            "region" if !value.is_empty() && !value.contains(char::is_whitespace) => {
                Ok(Matcher::Region(value.to_string()))
            }
            "region" => Err(format!("{text:?}: a region name is one word")),
            "country" if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) => {
                Ok(Matcher::Country(value.to_ascii_uppercase()))
            }
            "country" => Err(format!(
                "{text:?}: a country is its two-letter ISO 3166 code"
            )),
            "continent" if CONTINENTS.contains(&value.to_ascii_uppercase().as_str()) => {
                Ok(Matcher::Continent(value.to_ascii_uppercase()))
            }
            "continent" => Err(format!(
                "{text:?}: a continent is one of {}",
                CONTINENTS.join(", ")
            )),
            _ => value
                .parse()
                .map(Matcher::Asn)
                .map_err(|_| format!("{text:?}: an ASN is a number, as in asn:64500")),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Net(net) => write!(f, "{net}"),
            Matcher::Region(name) => write!(f, "region:{name}"),
            Matcher::Country(code) => write!(f, "country:{code}"),
            Matcher::Continent(code) => write!(f, "continent:{code}"),
            Matcher::Asn(asn) => write!(f, "asn:{asn}"),
            Matcher::Default => f.write_str("default"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Matcher, String> {
        Matcher::try_from(text.to_string())
    }

    #[test]
    fn matchers_parse_and_refuse_with_reasons() {
        assert_eq!(parse("default"), Ok(Matcher::Default));
        assert_eq!(parse("country:de"), Ok(Matcher::Country("DE".into())));
        assert_eq!(parse("continent:EU"), Ok(Matcher::Continent("EU".into())));
        assert_eq!(parse("asn:64500"), Ok(Matcher::Asn(64500)));
        assert_eq!(parse("region:eu-lab"), Ok(Matcher::Region("eu-lab".into())));
        assert!(matches!(parse("10.1.0.0/16"), Ok(Matcher::Net(_))));
        assert!(matches!(parse("2001:db8::/32"), Ok(Matcher::Net(_))));
        assert!(parse("country:DEU").unwrap_err().contains("two-letter"));
        assert!(parse("continent:XX").unwrap_err().contains("EU"));
        assert!(parse("asn:AS64500").unwrap_err().contains("number"));
        assert!(parse("10.1.0.1/16").unwrap_err().contains("10.1.0.0/16"));
        assert!(parse("planet:earth").unwrap_err().contains("region:NAME"));
    }
}
