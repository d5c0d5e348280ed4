//! Criterion benchmarks of the ftp-proto codec.
fn main() {}
