//! The TOML configuration file: schema, defaults, validation with file and line.
