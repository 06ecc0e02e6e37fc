//! stevedore's integration tests: one binary, a module per feature.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod config;
mod dockerignore_diff;
mod doctor;
mod ebsim;
mod image;
mod publish;
mod release;
mod rig;
