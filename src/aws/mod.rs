//! AWS: credential discovery (offline, for `doctor`), the SDK clients, S3 uploads and the
//! Elastic Beanstalk calls of a deploy: environments, versions, events, tail logs, and the
//! judgement of how an update ended.

pub mod cloudwatch;
pub mod credentials;
pub mod deadline;
pub mod deploy_lock;
pub mod description;
pub mod environment;
pub mod error;
pub mod events;
pub mod follow;
pub mod health;
pub mod identity;
pub mod logs;
pub mod pace;
pub mod sdk;
pub mod upload;
pub mod versions;

pub use error::AwsError;
