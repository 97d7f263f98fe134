//! Per-message cost of transformations and filters (`cargo bench -p herald-transform`).

fn main() {}
