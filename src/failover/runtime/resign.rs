//! Signed zones kept valid while the server runs: the table is compiled again, off the
//! runtime's task, before its signatures come within `signature_refresh` of expiring and
//! whenever a key's timing makes it change state (published, active, retired, deleted),
//! then swapped in like a reload's table. Nothing is read from disk: the zones and keys are
//! the ones the last load read.

use crate::app::{self, SignedZone};
use crate::table::{PoolDef, Table};
use crate::zone::Zone;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// What a re-sign compiles from: the zones and keys of the last load.
pub(super) struct Inputs {
    zones: Vec<Zone>,
    signed: Vec<Option<SignedZone>>,
}

/// A table compiled for a moment, and when the next must be.
pub(super) struct Compiled {
    pub table: Table,
    /// Seconds since the epoch when the table must be compiled again (none unsigned).
    pub next: Option<u64>,
    pub build_seconds: f64,
}

/// Compiles `zones` with `pools`, signing the zones `signed` says for the moment `now`.
pub(super) fn compile_at(
    zones: &[Zone],
    signed: &[Option<SignedZone>],
    pools: &[PoolDef],
    now: u64,
) -> Compiled {
    let started = Instant::now();
    let signers = app::signers(signed, now);
    let table = Table::compile_signed(zones, pools, &signers);
    let next = signers.iter().flatten().map(|s| s.next_resign()).min();
    Compiled {
        table,
        next,
        build_seconds: started.elapsed().as_secs_f64(),
    }
}

/// What the runtime keeps to re-sign: the inputs, when it is due, and which load they
/// belong to (a re-sign that finishes after a reload swapped in new zones is dropped).
pub(super) struct Resigner {
    inputs: Option<Arc<Inputs>>,
    due: Option<u64>,
    generation: u64,
    running: bool,
    done: mpsc::Sender<Resigned>,
}

/// A re-signed table, back on the runtime's task.
pub(super) struct Resigned {
    generation: u64,
    pub compiled: Compiled,
    /// The pools as the table was compiled with them.
    pub pools: Vec<PoolDef>,
}

impl Resigner {
    pub fn new(done: mpsc::Sender<Resigned>) -> Resigner {
        Resigner {
            inputs: None,
            due: None,
            generation: 0,
            running: false,
            done,
        }
    }

    /// After a load: keeps its zones and keys when some zone is signed, due at `next`.
    pub fn loaded(&mut self, zones: Vec<Zone>, signed: Vec<Option<SignedZone>>, next: Option<u64>) {
        self.generation += 1;
        self.running = false;
        let any_signed = signed.iter().any(Option::is_some);
        self.inputs = any_signed.then(|| Arc::new(Inputs { zones, signed }));
        self.due = next.filter(|_| any_signed);
    }

    /// When the next re-sign should start, as an `Instant` (none while one runs).
    pub fn due(&self) -> Option<Instant> {
        let due = self.due.filter(|_| !self.running)?;
        let at = UNIX_EPOCH + Duration::from_secs(due);
        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
        Some(Instant::now() + wait)
    }

    /// Compiles the table again on a blocking thread for now, with `pools`.
    pub fn start(&mut self, pools: Vec<PoolDef>) {
        let Some(inputs) = self.inputs.clone() else {
            return;
        };
        self.running = true;
        let generation = self.generation;
        let done = self.done.clone();
        tokio::spawn(async move {
            let compiled = tokio::task::spawn_blocking(move || {
                let compiled = compile_at(&inputs.zones, &inputs.signed, &pools, app::unix_now());
                Resigned {
                    generation,
                    compiled,
                    pools,
                }
            })
            .await;
            match compiled {
                Ok(resigned) => {
                    let _ = done.send(resigned).await;
                }
                Err(error) => tracing::error!(%error, "re-signing the signed zones failed"),
            }
        });
    }

    /// Takes a finished re-sign: `Some` when it is still for the zones served now.
    pub fn finish(&mut self, resigned: Resigned) -> Option<Resigned> {
        if resigned.generation != self.generation {
            return None;
        }
        self.running = false;
        self.due = resigned.compiled.next;
        Some(resigned)
    }
}
