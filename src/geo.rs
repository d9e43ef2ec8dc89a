//! Where client networks are routed: [`RouteMap`], the compiled map from a client address to one of a
//! pool's routes with the ECS scope of the answer. Pure data, no I/O; networks ([`Net`]) are
//! the configuration's, and the table looks clients up in the map.

pub mod map;

pub use crate::config::net::Net;
pub use map::{Client, RouteMap, Routed};
