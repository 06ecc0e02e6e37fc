//! stevedore's integration tests: one binary, a module per feature.

#[path = "../support/mod.rs"]
mod support;

mod build_options;
mod buildkit;
mod bundle;
mod cli;
mod compose_config;
mod compose_files;
mod config;
mod day2;
mod deploy;
mod deploy_core;
mod dockerignore_diff;
mod doctor;
mod eb_ops;
mod ebignore_diff;
mod ebsim;
mod ecr;
mod endpoints;
mod faults;
mod help_examples;
mod image;
mod lifecycle;
mod oneoff;
mod parity;
mod private_base;
mod props;
mod proxy;
mod publish;
mod release;
mod rig;
mod runtime;
mod token_auth;
