//! stevedore's integration tests: one binary, a module per feature.

#[path = "../support/mod.rs"]
mod support;

mod buildkit;
mod bundle;
mod cli;
mod config;
mod deploy;
mod dockerignore_diff;
mod doctor;
mod ebignore_diff;
mod ebsim;
mod image;
mod lifecycle;
mod parity;
mod publish;
mod release;
mod rig;
