//! End-to-end tests: one binary pulling in one module per area (ripgrep's layout).

mod every_service;
mod lossy_link;
mod session_link;
mod unit_twin;
