//! Client networks and where they are routed: IP networks ([`Net`]) as routes and nets
//! files write them, and [`RouteMap`], the compiled map from a client address to one of a
//! pool's routes with the ECS scope of the answer. Pure data, no I/O; the configuration
//! reads networks with it and the table looks clients up in it.

pub mod map;
pub mod net;

pub use map::{Client, RouteMap, Routed};
pub use net::Net;
