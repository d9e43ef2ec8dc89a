//! Engine tests of routed pools and EDNS Client Subnet: the client is the ECS subnet when
//! the query has one, else the source address; replies to ECS queries echo the option with
//! the scope of the network that chose the route (0 for answers that do not depend on the
//! client); malformed options get FORMERR.

use super::*;
use crate::geo::{Net, RouteMap};
use crate::name::Name;
use crate::table::{PoolAnswer, PoolDef, Served, Spread, Table};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@        SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS  ns1
ns1      A   192.0.2.53
alias    CNAME www
";

fn site(last: u8) -> PoolAnswer {
    PoolAnswer {
        ttl: 30,
        spread: Spread::All,
        v4: vec![Served {
            address: Ipv4Addr::new(192, 0, 2, last),
            weight: 1,
        }],
        v6: vec![],
    }
}

/// `www` routed: 10.1.0.0/16 to route 1 (192.0.2.1), 2001:db8::/32 to route 2
/// (192.0.2.2), everyone else to route 3 (192.0.2.3).
fn table() -> Table {
    let origin = Name::from_text("example.test.").unwrap();
    let zone =
        crate::zone::parse_zone(&origin, Path::new("example.test.zone"), ZONE.as_bytes()).unwrap();
    let nets = |n: &str| vec![n.parse::<Net>().unwrap()];
    let map = RouteMap::build(&[nets("10.1.0.0/16"), nets("2001:db8::/32")], 2);
    let pool = PoolDef {
        name: Name::from_text("www.example.test.").unwrap(),
        answers: vec![site(1), site(2), site(3)],
        routing: Some(Arc::new(map)),
    };
    Table::compile(&[zone], &[pool])
}

/// An A query for `qname` with EDNS and, when given, an ECS option with `data`.
fn ecs_query(qname: &str, data: Option<&[u8]>) -> Vec<u8> {
    let mut q = super::tests::query(9, qname, rtype::A, Some(1232));
    if let Some(data) = data {
        let rdlen = 4 + data.len();
        let at = q.len() - 2;
        q[at..].copy_from_slice(&(rdlen as u16).to_be_bytes());
        q.extend_from_slice(&[0, 8]);
        q.extend_from_slice(&(data.len() as u16).to_be_bytes());
        q.extend_from_slice(data);
    }
    q
}

struct Answered {
    rcode: u16,
    address: Option<[u8; 4]>,
    /// The ECS option data of the reply, if it has one.
    ecs: Option<Vec<u8>>,
}

fn ask(t: &Table, q: &[u8], source: Client) -> Answered {
    let mut out = [0u8; UDP_REPLY_BUF];
    let Outcome::Reply { len, rcode, .. } = answer(q, t, Transport::Udp, 0, source, &mut out)
    else {
        panic!("no reply");
    };
    let reply = &out[..len];
    let msg = domain::base::Message::from_octets(reply.to_vec()).expect("reply parses");
    let address = msg
        .answer()
        .unwrap()
        .limit_to::<domain::rdata::A>()
        .filter_map(Result::ok)
        .map(|rr| rr.data().addr().octets())
        .last();
    let ecs = crate::wire::find_opt(reply, question_len(q)).and_then(|range| {
        let options = crate::wire::Options::parse(&reply[range][11..]).ok()?;
        options.get(code::CLIENT_SUBNET).map(<[u8]>::to_vec)
    });
    Answered {
        rcode,
        address,
        ecs,
    }
}

/// Length of the header and question of `q`.
fn question_len(q: &[u8]) -> usize {
    12 + crate::name::wire_name_len(&q[12..]).unwrap() + 4
}

const SOMEWHERE: Client = Client::V4(0xc633_6401); // 198.51.100.1

#[test]
fn an_ecs_subnet_picks_the_route_and_gets_its_scope() {
    let t = table();
    let lab = ask(
        &t,
        &ecs_query("www.example.test", Some(&[0, 1, 24, 0, 10, 1, 7])),
        SOMEWHERE,
    );
    assert_eq!(lab.address, Some([192, 0, 2, 1]));
    assert_eq!(lab.ecs.as_deref(), Some(&[0, 1, 24, 16, 10, 1, 7][..]));
    // The CNAME chain to the pool answers for the client too.
    let chain = ask(
        &t,
        &ecs_query("alias.example.test", Some(&[0, 1, 24, 0, 10, 1, 7])),
        SOMEWHERE,
    );
    assert_eq!(chain.address, Some([192, 0, 2, 1]));
    assert_eq!(chain.ecs.as_deref(), Some(&[0, 1, 24, 16, 10, 1, 7][..]));
    let v6 = ask(
        &t,
        &ecs_query(
            "www.example.test",
            Some(&[0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 5]),
        ),
        SOMEWHERE,
    );
    assert_eq!(v6.address, Some([192, 0, 2, 2]));
    assert_eq!(
        v6.ecs.as_deref(),
        Some(&[0, 2, 48, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 5][..])
    );
    // Elsewhere: the default route, scope the block free of the other routes' networks.
    let other = ask(
        &t,
        &ecs_query("www.example.test", Some(&[0, 1, 24, 0, 10, 2, 7])),
        SOMEWHERE,
    );
    assert_eq!(other.address, Some([192, 0, 2, 3]));
    assert_eq!(other.ecs.as_deref(), Some(&[0, 1, 24, 15, 10, 2, 7][..]));
}

#[test]
fn without_ecs_the_source_address_decides_and_no_option_is_added() {
    let t = table();
    let q = ecs_query("www.example.test", None);
    let lab = ask(&t, &q, Client::V4(0x0a01_0203));
    assert_eq!((lab.address, lab.ecs), (Some([192, 0, 2, 1]), None));
    let other = ask(&t, &q, SOMEWHERE);
    assert_eq!(other.address, Some([192, 0, 2, 3]));
    // The ECS subnet wins over the source address.
    let q = ecs_query("www.example.test", Some(&[0, 1, 16, 0, 10, 1]));
    assert_eq!(ask(&t, &q, SOMEWHERE).address, Some([192, 0, 2, 1]));
}

#[test]
fn answers_that_do_not_depend_on_the_client_echo_scope_zero() {
    let t = table();
    let data: &[u8] = &[0, 1, 24, 0, 10, 1, 7];
    let ns = ask(&t, &ecs_query("ns1.example.test", Some(data)), SOMEWHERE);
    assert_eq!(ns.address, Some([192, 0, 2, 53]));
    assert_eq!(ns.ecs.as_deref(), Some(&[0, 1, 24, 0, 10, 1, 7][..]));
    let nx = ask(&t, &ecs_query("nope.example.test", Some(data)), SOMEWHERE);
    assert_eq!(
        (nx.rcode, nx.ecs.as_deref()),
        (rcode::NXDOMAIN, Some(&[0, 1, 24, 0, 10, 1, 7][..]))
    );
    let refused = ask(&t, &ecs_query("elsewhere.test", Some(data)), SOMEWHERE);
    assert_eq!(refused.rcode, rcode::REFUSED);
    assert_eq!(refused.ecs.as_deref(), Some(&[0, 1, 24, 0, 10, 1, 7][..]));
    // Source prefix 0: no client address may be used, so the default route, scope 0.
    let anonymous = ask(
        &t,
        &ecs_query("www.example.test", Some(&[0, 1, 0, 0])),
        Client::V4(0x0a01_0203),
    );
    assert_eq!(anonymous.address, Some([192, 0, 2, 3]));
    assert_eq!(anonymous.ecs.as_deref(), Some(&[0, 1, 0, 0][..]));
}

#[test]
fn a_malformed_ecs_option_is_formerr() {
    let t = table();
    for data in [
        &[0, 3, 0, 0][..],
        &[0, 1, 33, 0, 1, 2, 3, 4, 5],
        &[0, 1, 24, 0, 10, 1],
        &[0, 1, 23, 0, 10, 1, 1],
        &[0, 1, 24, 4, 10, 1, 0],
    ] {
        let reply = ask(&t, &ecs_query("www.example.test", Some(data)), SOMEWHERE);
        assert_eq!(
            (reply.rcode, reply.address),
            (rcode::FORMERR, None),
            "{data:?}"
        );
    }
    // The negative control: the same shape, well formed, is answered.
    let fine = ask(
        &t,
        &ecs_query("www.example.test", Some(&[0, 1, 24, 0, 10, 1, 0])),
        SOMEWHERE,
    );
    assert_eq!(fine.rcode, rcode::NOERROR);
}

#[test]
fn a_health_change_of_one_route_leaves_the_others() {
    let t = table().with_pool(0, 0, &site(9));
    let q = ecs_query("www.example.test", None);
    assert_eq!(
        ask(&t, &q, Client::V4(0x0a01_0203)).address,
        Some([192, 0, 2, 9])
    );
    assert_eq!(ask(&t, &q, SOMEWHERE).address, Some([192, 0, 2, 3]));
    // A route the pool does not have changes nothing.
    let same = t.with_pool(0, 7, &site(8));
    assert_eq!(ask(&same, &q, SOMEWHERE).address, Some([192, 0, 2, 3]));
}
