//! Running an environment: the pure half. [`plan`] turns a compose file into container,
//! network and volume specs and compares them with what exists; [`ready`] says when a
//! container counts as started or healthy; [`names`] names what is created. The commands in
//! `commands::lifecycle` apply the plan through `engine`.

pub mod external;
pub mod host;
pub mod lock;
pub mod names;
pub mod plan;
pub mod ready;
pub mod teardown;
