//! Routing data at load: the nets file and the MaxMind database of `[server.geo]` read
//! once, turned into networks, and every routed pool's routes compiled into a
//! [`RouteMap`] (pools with the same routes share one). The database is not kept: a
//! lookup on the query path is a search in the compiled map, never in the database.

use crate::config::pool::PoolConfig;
use crate::config::{Config, GeoConfig, Matcher};
use crate::diag::Diagnostic;
use crate::geo::{Net, RouteMap};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// The largest nets file or database read, in bytes.
const MAX_GEO_FILE: u64 = 1 << 30;

/// What a database says of one of its networks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Place {
    country: Option<[u8; 2]>,
    continent: Option<[u8; 2]>,
    asn: Option<u32>,
}

/// The networks of the sources `[server.geo]` names.
#[derive(Default)]
struct Sources {
    /// Region name → its networks, in file order.
    regions: HashMap<String, Vec<Net>>,
    /// Every network of the database with what it says.
    places: Vec<(Net, Place)>,
}

/// Per pool of `config.pools`, its compiled route map: `None` for a pool without routes or
/// with one route only (whose answer does not depend on the client). Every problem with a
/// nets file, a database or a region name is reported with the file.
pub fn route_maps(config: &Config) -> Result<Vec<Option<Arc<RouteMap>>>, Vec<Diagnostic>> {
    let routed = config.pools.iter().any(|p| p.routes.len() > 1);
    let sources = match (&config.server.geo, routed) {
        (Some(geo), true) => read_sources(&config.file, geo)?,
        (Some(geo), false) => {
            // Read anyway, so that a broken file is found before a route needs it.
            read_sources(&config.file, geo)?;
            Sources::default()
        }
        (None, _) => Sources::default(),
    };
    let mut errors = Vec::new();
    let mut shared: HashMap<Vec<Vec<Matcher>>, Arc<RouteMap>> = HashMap::new();
    let mut maps = Vec::with_capacity(config.pools.len());
    for (pool, &line) in config.pools.iter().zip(&config.pool_lines) {
        if pool.routes.len() < 2 {
            maps.push(None);
            continue;
        }
        let key: Vec<Vec<Matcher>> = pool.routes.iter().map(|r| r.matches.clone()).collect();
        if let Some(map) = shared.get(&key) {
            maps.push(Some(map.clone()));
            continue;
        }
        match route_networks(pool, &sources) {
            Ok(nets) => {
                let fallback = (pool.routes.len() - 1) as u16;
                let map = Arc::new(RouteMap::build(&nets, fallback));
                tracing::debug!(pool = %pool.name, pieces = map.pieces(), "routes compiled");
                shared.insert(key, map.clone());
                maps.push(Some(map));
            }
            Err(message) => {
                errors.push(Diagnostic::new(&config.file, line, message));
                maps.push(None);
            }
        }
    }
    match errors.is_empty() {
        true => Ok(maps),
        false => Err(errors),
    }
}

/// Each route's networks, in route order: its networks and regions as written, then the
/// database networks that it is the first route to match.
fn route_networks(pool: &PoolConfig, sources: &Sources) -> Result<Vec<Vec<Net>>, String> {
    let mut nets: Vec<Vec<Net>> = vec![Vec::new(); pool.routes.len()];
    for (index, route) in pool.routes.iter().enumerate() {
        for matcher in &route.matches {
            match matcher {
                Matcher::Net(net) => nets[index].push(*net),
                Matcher::Region(name) => match sources.regions.get(name) {
                    Some(list) => nets[index].extend(list),
                    None => {
                        return Err(format!(
                            "pool {:?}: route {}: region {name:?} is not in the nets file",
                            pool.name,
                            index + 1
                        ))
                    }
                },
                _ => {}
            }
        }
    }
    let wants_database = pool
        .routes
        .iter()
        .any(|r| r.matches.iter().any(Matcher::needs_database));
    if wants_database {
        for (net, place) in &sources.places {
            let first = pool
                .routes
                .iter()
                .position(|r| r.matches.iter().any(|m| place_matches(m, place)));
            if let Some(index) = first {
                nets[index].push(*net);
            }
        }
    }
    Ok(nets)
}

fn place_matches(matcher: &Matcher, place: &Place) -> bool {
    let code = |c: &str| <[u8; 2]>::try_from(c.as_bytes()).ok();
    match matcher {
        Matcher::Country(c) => place.country.is_some() && place.country == code(c),
        Matcher::Continent(c) => place.continent.is_some() && place.continent == code(c),
        Matcher::Asn(asn) => place.asn == Some(*asn),
        _ => false,
    }
}

fn read_sources(config_file: &Path, geo: &GeoConfig) -> Result<Sources, Vec<Diagnostic>> {
    let mut sources = Sources::default();
    let mut errors = Vec::new();
    if let Some(path) = &geo.nets {
        match read_limited(path) {
            Ok(text) => match parse_nets(path, &String::from_utf8_lossy(&text)) {
                Ok(regions) => sources.regions = regions,
                Err(problems) => errors.extend(problems),
            },
            Err(e) => errors.push(Diagnostic::new(
                config_file,
                geo.line,
                format!("server.geo.nets: cannot read {}: {e}", path.display()),
            )),
        }
    }
    if let Some(path) = &geo.database {
        match read_database(path) {
            Ok(places) => sources.places = places,
            Err(e) => errors.push(Diagnostic::new(
                config_file,
                geo.line,
                format!("server.geo.database: {}: {e}", path.display()),
            )),
        }
    }
    match errors.is_empty() {
        true => Ok(sources),
        false => Err(errors),
    }
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_GEO_FILE {
        return Err(std::io::Error::other(format!(
            "{size} bytes is more than the {MAX_GEO_FILE} read"
        )));
    }
    std::fs::read(path)
}

/// A nets file: `CIDR region` per line; `#` starts a comment; blank lines are skipped.
fn parse_nets(path: &Path, text: &str) -> Result<HashMap<String, Vec<Net>>, Vec<Diagnostic>> {
    let mut regions: HashMap<String, Vec<Net>> = HashMap::new();
    let mut errors = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(net), Some(region), None) = (words.next(), words.next(), words.next()) else {
            errors.push(Diagnostic::new(
                path,
                number + 1,
                format!(
                    "{line:?}: write one network and one region name, as \"10.1.0.0/16 eu-lab\""
                ),
            ));
            continue;
        };
        match net.parse::<Net>() {
            Ok(net) => regions.entry(region.to_string()).or_default().push(net),
            Err(message) => errors.push(Diagnostic::new(path, number + 1, message)),
        }
    }
    match errors.is_empty() {
        true => Ok(regions),
        false => Err(errors),
    }
}

/// The fields of a MaxMind record that routes can match (country, city and ASN editions).
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Coded<'a>>,
    #[serde(borrow)]
    registered_country: Option<Coded<'a>>,
    #[serde(borrow)]
    continent: Option<Coded<'a>>,
    autonomous_system_number: Option<u32>,
}

#[derive(Deserialize)]
struct Coded<'a> {
    iso_code: Option<&'a str>,
    code: Option<&'a str>,
}

/// Every network of a MaxMind database with its country, continent and ASN. A network
/// without a country of its own takes its registered country, as MaxMind advises.
fn read_database(path: &Path) -> Result<Vec<(Net, Place)>, String> {
    let bytes = read_limited(path).map_err(|e| format!("cannot read it: {e}"))?;
    let reader = maxminddb::Reader::from_source(bytes)
        .map_err(|e| format!("not a MaxMind database: {e}"))?;
    let v6 = reader.metadata.ip_version == 6;
    let everything: ipnetwork::IpNetwork = match v6 {
        true => "::/0".parse().expect("a network"),
        false => "0.0.0.0/0".parse().expect("a network"),
    };
    let within = reader
        .within(everything, Default::default())
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut places = Vec::new();
    let mut decoded: HashMap<usize, Place> = HashMap::new();
    for item in within {
        let found = item.map_err(|e| format!("corrupt: {e}"))?;
        let network = found.network().map_err(|e| format!("corrupt: {e}"))?;
        let place = match found.offset().and_then(|o| decoded.get(&o)) {
            Some(place) => *place,
            None => {
                let record: Option<Record> = found.decode().map_err(|e| format!("corrupt: {e}"))?;
                let place = record.map(|r| to_place(&r)).unwrap_or_default();
                if let Some(offset) = found.offset() {
                    decoded.insert(offset, place);
                }
                place
            }
        };
        if let Some(net) = to_net(network.ip(), network.prefix()) {
            places.push((net, place));
        }
    }
    Ok(places)
}

fn to_place(record: &Record<'_>) -> Place {
    let two = |s: Option<&str>| s.and_then(|s| <[u8; 2]>::try_from(s.as_bytes()).ok());
    let country = record
        .country
        .as_ref()
        .and_then(|c| two(c.iso_code))
        .or_else(|| {
            record
                .registered_country
                .as_ref()
                .and_then(|c| two(c.iso_code))
        });
    Place {
        country,
        continent: record.continent.as_ref().and_then(|c| two(c.code)),
        asn: record.autonomous_system_number,
    }
}

/// A database network as a [`Net`]: IPv4 networks of an IPv6 database (`::a.b.c.d/96+n`)
/// become IPv4 networks.
fn to_net(addr: IpAddr, len: u8) -> Option<Net> {
    match addr {
        IpAddr::V6(v6) if len >= 96 && v6.segments()[..6] == [0; 6] => {
            let [.., a, b, c, d] = v6.octets();
            Net::new(IpAddr::from([a, b, c, d]), len - 96)
        }
        addr => Net::new(addr, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_files_parse_and_report_lines() {
        let path = Path::new("regions.nets");
        let regions = parse_nets(
            path,
            "# lab\n10.1.0.0/16 eu-lab\n\n10.2.0.0/16 eu-lab # two\n2001:db8::/32 us\n",
        )
        .unwrap();
        assert_eq!(regions["eu-lab"].len(), 2);
        assert_eq!(regions["us"][0].to_string(), "2001:db8::/32");
        let errors = parse_nets(path, "10.1.0.0/16\n10.1.0.1/16 x\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 1);
        assert!(
            errors[1].to_string().contains("regions.nets:2"),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn ipv4_networks_of_an_ipv6_database_become_ipv4() {
        let net = to_net("::c000:200".parse().unwrap(), 120).unwrap();
        assert_eq!(net.to_string(), "192.0.2.0/24");
        let net = to_net("2001:db8::".parse().unwrap(), 32).unwrap();
        assert_eq!(net.to_string(), "2001:db8::/32");
    }
}
