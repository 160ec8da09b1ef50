//! End-to-end tests: one binary pulling in one module per area (ripgrep's layout).

mod every_service;
mod replay_twin;
mod session_link;
mod unit_twin;
