//! Container registries: naming and credentials.

pub mod credentials;
