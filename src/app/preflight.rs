//! What `swivel serve` needs from the machine besides valid files, checked by `swivel check`
//! too (the systemd unit's pre-start check relies on it): a usable state folder, the
//! privilege to send ICMP when a pool's checks are ICMP echoes, every pool's `ca_file`
//! readable as PEM certificates, and the control listener's TLS files (`[control]
//! tls_cert`, `tls_key`, `tls_client_ca`) loading as a certificate chain with its key.

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use std::path::Path;

/// Every reason `config` could not be served from this machine.
pub fn preflight(config: &Config) -> Result<(), Diagnostics> {
    let mut problems = Vec::new();
    if let Some(dir) = &config.server.state_dir {
        if let Err(reason) = usable_folder(dir) {
            let message = format!("server.state_dir {}: {reason}", dir.display());
            problems.push(Diagnostic::new(&config.file, 0, message));
        }
    }
    if config.local_checks {
        if let Err(reason) = crate::probe::icmp::privilege_for(&config.pools) {
            problems.push(Diagnostic::new(&config.file, 0, reason));
        }
    }
    for (pool, line) in config.pools.iter().zip(&config.pool_lines) {
        let Some(ca_file) = &pool.check.ca_file else {
            continue;
        };
        if let Err(reason) = crate::probe::tls::load_ca_file(ca_file) {
            let message = format!("pool {}: check.{reason}", pool.name);
            problems.push(Diagnostic::new(&config.file, *line, message));
        }
    }
    if let Some(tls) = &config.control.tls {
        if let Err(reason) =
            crate::tls::server_config(&tls.cert, &tls.key, tls.client_ca.as_deref())
        {
            problems.push(Diagnostic::new(&config.file, 0, reason));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(problems))
    }
}

/// Whether `dir` is a folder Swivel can write files in, or can be created as one: the
/// nearest part of the path that exists must be a folder that takes a new file.
fn usable_folder(dir: &Path) -> Result<(), String> {
    let mut existing = dir;
    while existing.symlink_metadata().is_err() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    let metadata =
        std::fs::metadata(existing).map_err(|e| format!("{}: {e}", existing.display()))?;
    if !metadata.is_dir() {
        return Err(if existing == dir {
            "it exists but is not a folder".to_string()
        } else {
            format!(
                "{} is not a folder, so it cannot be created",
                existing.display()
            )
        });
    }
    let probe = existing.join(format!(".swivel-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => Err(format!("cannot write in it: {e}")),
        Err(e) => Err(format!(
            "cannot be created: cannot write in {}: {e}",
            existing.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_state_dir_must_be_a_writable_folder_or_creatable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(usable_folder(dir.path()), Ok(()));
        assert_eq!(usable_folder(&dir.path().join("new/deeper")), Ok(()));
        assert!(!dir.path().join("new").exists(), "checking creates nothing");

        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let error = usable_folder(&file).unwrap_err();
        assert!(error.contains("not a folder"), "{error}");
        let error = usable_folder(&file.join("below")).unwrap_err();
        assert!(
            error.contains("not a folder, so it cannot be created"),
            "{error}"
        );

        // Root may write anywhere: the permission case can only be tested as another user.
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        let writable_anyway = std::fs::File::create(locked.join("x")).is_ok();
        if !writable_anyway {
            let error = usable_folder(&locked).unwrap_err();
            assert!(error.contains("cannot write in it"), "{error}");
        }
    }
}
