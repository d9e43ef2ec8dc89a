//! Health checking without I/O or clock: pool configuration, per-endpoint fall/rise state
//! and each pool's decision of what to serve.
//!
//! The pieces, in the order data flows through them:
//!
//! - [`config`]: the `[[pool]]` tables of the configuration file and their validation.
//! - [`state`]: one [`state::EndpointHealth`] per endpoint turns check results into
//!   up/down verdicts (`fall` consecutive failures take an endpoint down, `rise`
//!   consecutive successes bring it back; before its first result it counts as up).
//! - [`quorum`]: with several checkers (the local checks and probe agents), one
//!   [`state::EndpointHealth`] per checker and endpoint, and the endpoint's verdict over
//!   the fresh ones ([`quorum::EndpointVerdict`]).
//! - [`decide`]: one [`decide::PoolDecider`] per pool turns the endpoints' verdicts into
//!   the [`crate::table::PoolAnswer`] the answer table compiles, following the
//!   pool's policy, failback mode and `when_all_down`.
//!
//! Nothing here does I/O, reads a clock or logs: the caller passes time in, runs the
//! probes, logs the transitions and reasons returned, rebuilds the table when a decision
//! changed and persists the manual-failback latch.

pub mod decide;
pub mod quorum;
pub mod state;
