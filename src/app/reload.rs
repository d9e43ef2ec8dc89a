//! What a reload changes in a running server: the zones, pools, checkers and local checks of
//! the new configuration take effect; `[server]` and `[control]` keep their running values
//! until a restart, and the keys that differ are reported.

use super::Summary;
use crate::config::{Config, ControlConfig, ServerConfig};

/// What a successful reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadReport {
    pub summary: Summary,
    /// Settings changed in the file that only take effect on restart (e.g. `server.listen`);
    /// the running values stay.
    pub restart_needed: Vec<&'static str>,
}

/// The configuration a running server goes on with after reloading `new`: everything of
/// `new` except `[server]` and `[control]`, which stay as `running` has them; and the keys
/// of those two tables that `new` changes (they need a restart).
pub fn merge_reload(running: &Config, new: Config) -> (Config, Vec<&'static str>) {
    let restart_needed = changes_needing_restart(running, &new);
    // `[server.geo]` is read again on every reload; the rest of `[server]` needs a restart.
    let merged = Config {
        server: ServerConfig {
            geo: new.server.geo.clone(),
            ..running.server.clone()
        },
        control: running.control.clone(),
        ..new
    };
    (merged, restart_needed)
}

/// Settings changed between two configurations that only take effect on restart; the
/// running values stay. Both tables are taken apart field by field, so a new key cannot be
/// forgotten here.
pub fn changes_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let ServerConfig {
        listen,
        workers,
        tcp_idle_timeout,
        tcp_max_connections,
        tcp_max_per_client,
        state_dir,
        rrl,
        udp,
        geo: _,
    } = &old.server;
    let ControlConfig {
        listen: control_listen,
        token,
        tls,
        max_connections,
        header_read_timeout,
        idle_timeout,
        request_timeout,
        max_body_size,
    } = &old.control;
    let (server, control) = (&new.server, &new.control);
    let checks = [
        (*listen != server.listen, "server.listen"),
        (*workers != server.workers, "server.workers"),
        (
            *tcp_idle_timeout != server.tcp_idle_timeout,
            "server.tcp_idle_timeout",
        ),
        (
            *tcp_max_connections != server.tcp_max_connections,
            "server.tcp_max_connections",
        ),
        (
            *tcp_max_per_client != server.tcp_max_per_client,
            "server.tcp_max_per_client",
        ),
        (*state_dir != server.state_dir, "server.state_dir"),
        (*rrl != server.rrl, "server.rrl"),
        (
            *udp != server.udp,
            "server.io / udp_batch / udp_socket_buffer / pin_workers / cpu_steering / busy_poll",
        ),
        (*control_listen != control.listen, "control.listen"),
        (*token != control.token, "control.token"),
        (
            *tls != control.tls,
            "control.tls_cert / tls_key / tls_client_ca (the files themselves are read again on SIGHUP)",
        ),
        (
            *max_connections != control.max_connections,
            "control.max_connections",
        ),
        (
            *header_read_timeout != control.header_read_timeout,
            "control.header_read_timeout",
        ),
        (*idle_timeout != control.idle_timeout, "control.idle_timeout"),
        (
            *request_timeout != control.request_timeout,
            "control.request_timeout",
        ),
        (*max_body_size != control.max_body_size, "control.max_body_size"),
    ];
    checks
        .into_iter()
        .filter_map(|(changed, key)| changed.then_some(key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Config {
        let zone = "[[zone]]\norigin = \"example.test.\"\nfile = \"example.test.zone\"\n";
        crate::config::parse(
            &format!("{text}\n{zone}"),
            Path::new("swivel.toml"),
            Path::new(""),
        )
        .expect("configuration parses")
    }

    #[test]
    fn a_changed_rate_limit_needs_a_restart() {
        let old = parse("[server]\n[server.rrl]\nresponses_per_second = 20\n");
        let new = parse("[server]\n[server.rrl]\nresponses_per_second = 50\n");
        assert_eq!(changes_needing_restart(&old, &new), ["server.rrl"]);
        let off = parse("");
        assert_eq!(changes_needing_restart(&old, &off), ["server.rrl"]);
        assert!(changes_needing_restart(&old, &old).is_empty());
    }

    #[test]
    fn a_reload_keeps_the_running_server_and_control_settings_and_takes_the_rest() {
        let running = parse("[server]\nlisten = [\"127.0.0.1:5300\"]\nworkers = 1\n");
        let new = parse(
            "[server]\nlisten = [\"127.0.0.1:5301\"]\nworkers = 2\n[control]\nlisten = \"127.0.0.1:8100\"\n\
             [checks]\nlocal = false\n",
        );
        let (merged, restart_needed) = merge_reload(&running, new.clone());
        assert_eq!(merged.server, running.server);
        assert_eq!(merged.control, running.control);
        assert_eq!((merged.zones, merged.local_checks), (new.zones, false));
        assert_eq!(
            restart_needed,
            ["server.listen", "server.workers", "control.listen"]
        );
    }
}
