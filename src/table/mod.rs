//! The answer table: every answer a zone set can give, compiled into wire bytes at load.

use crate::zone::Zone;
use arc_swap::ArcSwap;
use std::sync::Arc;

/// The table behind the pointer that workers read and the loader swaps.
pub type SharedTable = Arc<ArcSwap<Table>>;

/// Precompiled answers for a set of zones.
#[derive(Default)]
pub struct Table {}

impl Table {
    /// Compiles validated zones into a table.
    pub fn compile(zones: &[Zone]) -> Table {
        let _ = zones;
        Table {}
    }

    /// Wraps a table for sharing with workers.
    pub fn shared(self) -> SharedTable {
        Arc::new(ArcSwap::from_pointee(self))
    }
}
