//! stevedore's integration tests: one binary, a module per feature.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod config;
mod doctor;
mod rig;
