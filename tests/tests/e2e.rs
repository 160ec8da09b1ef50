//! End-to-end tests: one binary pulling in one module per area (ripgrep's layout).

mod every_service;
mod firmware_selftest;
mod lossy_link;
mod replay_twin;
mod session_link;
mod software_update;
mod unit_twin;
