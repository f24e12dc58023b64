//! All integration tests, in one binary: the engine driven step by step on a manual clock, the
//! HTTP surface in-process, and the real binary end to end (including `kill -9`).

mod admin_access;
mod cli;
mod client_waiters;
mod clock_state;
mod connection_limits;
mod coverage;
mod crash;
mod dashboard;
mod e2e;
mod engine_steps;
mod faults;
mod faults_e2e;
mod faults_http;
mod fidelity;
mod hardening;
mod http;
mod job_list_http;
mod nova_http;
mod observability;
mod operations;
mod operations_http;
mod query_limits;
mod quotas_groups_http;
mod reference;
mod reference_data;
mod regions_http;
mod requests_log;
mod security;
mod support;
mod tags_http;
mod tls;
mod write_light;
