//! Who is calling: the accounts from `--config`, request signatures (AK/SK), IAM tokens, and
//! the limits that keep guessing and floods from exhausting the server.

pub mod accounts;
pub mod auth;
pub mod login_limits;
pub mod rate_limit;
pub mod signature;
pub mod tokens;

#[cfg(test)]
mod tests;
