//! Container registries: naming, credentials (Docker config, ECR) and a small API client.

pub mod build_auth;
pub mod client;
pub mod credentials;
pub mod ecr;
pub mod proxy;
