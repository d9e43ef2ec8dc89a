//! A route's decider: the endpoints of its sites, tiered by site then priority, so that a
//! route fails over inside its best site first, then to the next site, and back.

use super::*;

/// fra: .1 (priority 1), .2 (priority 2); iad: .3; sin: .4 (in no route below).
fn routed_pool() -> PoolConfig {
    let text = r#"
name = "www.example.test."
[check]
kind = "tcp"
port = 80
[[endpoint]]
address = "192.0.2.1"
site = "fra"
[[endpoint]]
address = "192.0.2.2"
site = "fra"
priority = 2
[[endpoint]]
address = "192.0.2.3"
site = "iad"
[[endpoint]]
address = "192.0.2.4"
site = "sin"
[[route]]
match = ["10.1.0.0/16"]
sites = ["fra", "iad"]
[[route]]
match = ["default"]
sites = ["iad", "fra"]
"#;
    let config: PoolConfig = toml::from_str(text).expect("pool parses");
    assert_eq!(config.validate(), vec![], "test pool is valid");
    config
}

fn health(config: &PoolConfig, start: Instant) -> Vec<EndpointHealth> {
    (config.endpoints.iter())
        .map(|_| EndpointHealth::new(1, 1, start))
        .collect()
}

fn set(health: &mut [EndpointHealth], endpoint: usize, up: bool, at: Instant) {
    let result = match up {
        true => CheckResult::success(Duration::from_millis(1)),
        false => CheckResult::failure(Duration::from_millis(1), "connection refused"),
    };
    health[endpoint].observe(result, at);
}

fn decide(decider: &mut PoolDecider, health: &[EndpointHealth]) -> Decision {
    let members: Vec<&EndpointHealth> = (decider.endpoint_index().iter())
        .map(|&i| &health[i])
        .collect();
    decider.decide(&members)
}

fn served(d: &Decision) -> Vec<String> {
    d.answer.v4.iter().map(|s| s.address.to_string()).collect()
}

#[test]
fn a_route_fails_over_inside_its_site_then_to_the_next_site_and_back() {
    let config = routed_pool();
    let start = Instant::now();
    let mut health = health(&config, start);
    for i in 0..4 {
        set(&mut health, i, true, start);
    }
    let mut eu = PoolDecider::for_route(&config, 0);
    let mut rest = PoolDecider::for_route(&config, 1);
    assert_eq!(eu.endpoint_index(), &[0, 1, 2], "sin is in neither route");
    let d = decide(&mut eu, &health);
    assert_eq!(
        (served(&d), d.tier),
        (vec!["192.0.2.1".to_string()], Some(1))
    );
    assert_eq!(eu.tier_name(1), "site fra priority 1");
    assert_eq!(eu.tier_site(3), Some("iad"));
    assert_eq!(served(&decide(&mut rest, &health)), ["192.0.2.3"]);

    set(&mut health, 0, false, start);
    let d = decide(&mut eu, &health);
    assert_eq!(served(&d), ["192.0.2.2"], "fra's second priority first");
    assert_eq!(
        d.reason
            .as_deref()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim(),
        "failover from site fra priority 1 to site fra priority 2"
    );
    set(&mut health, 1, false, start);
    let d = decide(&mut eu, &health);
    assert_eq!(served(&d), ["192.0.2.3"], "then the next site");
    assert!(d.reason.unwrap().contains("to site iad"));
    // The other route was on iad all along: fra going down changes nothing there.
    assert!(!decide(&mut rest, &health).changed);

    set(&mut health, 0, true, start);
    let d = decide(&mut eu, &health);
    assert_eq!(served(&d), ["192.0.2.1"], "back to fra when it recovers");
    assert!(d
        .reason
        .unwrap()
        .contains("failback from site iad to site fra priority 1"));
}

#[test]
fn when_all_down_covers_the_route_s_own_sites() {
    let config = routed_pool();
    let start = Instant::now();
    let mut health = health(&config, start);
    for i in 0..4 {
        set(&mut health, i, i == 3, start);
    }
    let mut eu = PoolDecider::for_route(&config, 0);
    let d = decide(&mut eu, &health);
    assert!(d.all_down);
    // serve-all: every endpoint of the route's sites in tier order; sin (up) is not one.
    assert_eq!(served(&d), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
}
