//! The ecsd task engine.
//!
//! Jobs and their tasks ([`job`]), the simulated servers they act on ([`server`], [`compute`]),
//! the storage interface they are kept behind ([`store`]), the injected [`clock`], and the
//! [`engine`] that accepts and runs them. This crate knows nothing of HTTP or SQL.

pub mod clock;
pub mod compute;
pub mod crash;
pub mod engine;
pub mod events;
pub mod faults;
pub mod flavors;
pub mod job;
pub mod quota;
pub mod regions;
pub mod schedule;
pub mod server;
pub mod server_jobs;
pub mod stats;
pub mod store;

pub use engine::{Accepted, CreateServers, Engine, EngineConfig, ServerAction, SubmitError};
pub use server_jobs::ServerJob;
