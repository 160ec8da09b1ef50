//! `eic-bench`: the ECLAIRs on-board software maintenance and test bench.
fn main() {}
