//! Ignore-file dialects: Docker's .dockerignore and the EB CLI's .ebignore.
pub mod docker;
pub mod eb;
#[cfg(test)]
mod table;

impl crate::exit::Coded for docker::DockerIgnoreError {
    fn exit_status(&self) -> crate::exit::ExitStatus {
        crate::exit::ExitStatus::InvalidInput
    }
}

impl crate::exit::Coded for eb::EbIgnoreError {
    fn exit_status(&self) -> crate::exit::ExitStatus {
        crate::exit::ExitStatus::InvalidInput
    }
}
