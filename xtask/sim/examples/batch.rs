//! The batch alone, to the first violation: what `cargo xtask sim --mutants` builds in a copy of
//! the workspace with a bug planted, without the rest of xtask (no AWS SDK to build per copy).
//! `cargo run -p bgd-sim --example batch -- RUNS`.
fn main() -> anyhow::Result<()> {
    let runs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let batch = bgd_sim::batch(1, runs, 3, false, (false, true))?;
    println!("runs {}", batch.runs);
    println!("violations {}", batch.failed.len());
    for (seed, violations) in &batch.failed {
        println!("seed {seed}: {}", violations.join("; "));
    }
    Ok(())
}
