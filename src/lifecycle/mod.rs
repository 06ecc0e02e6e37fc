//! Running an environment: the pure half. [`plan`] turns a compose file into container,
//! network and volume specs and compares them with what exists; [`ready`] says when a
//! container counts as started or healthy; [`names`] names what is created. The commands in
//! `commands::lifecycle` apply the plan through `engine`.

pub mod bounded;
pub mod down;
pub mod external;
pub mod host;
pub mod images;
pub mod lock;
pub mod logs;
pub mod names;
pub mod oneoff;
pub mod plan;
pub mod readiness;
pub mod ready;
pub mod scope;
pub mod stop;
pub mod teardown;
pub mod up;
