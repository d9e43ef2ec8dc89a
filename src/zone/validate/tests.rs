//! Tests of the zone rules.
