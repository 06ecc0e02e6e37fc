//! AWS: credentials discovery now; S3 upload and Elastic Beanstalk calls as deploy lands.

pub mod credentials;
