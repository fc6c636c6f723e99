//! HTTP figures for `GET /version`: through our local gateway (stage → alias → version → warm
//! instance) and through `cargo lambda watch` serving the same app in release mode, both driven
//! by `hey` (Debian) at concurrency 1 and 16, medians of repeated runs.
use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use xshell::Shell;

use bgd_core::setup;
use bgd_local::process;

/// Figures of one target at one concurrency: medians over the repeats.
#[derive(Debug, Serialize)]
pub(super) struct Load {
    pub concurrency: usize,
    pub requests: usize,
    pub repeats: usize,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    pub gateway: Vec<Load>,
    pub cargo_lambda_watch: Vec<Load>,
    /// Gateway requests/s over cargo lambda watch's, at concurrency 16.
    pub ratio_c16: f64,
}

/// `cargo lambda watch` serving the app, stopped (with its children) on drop.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // The watch runs cargo, and the function in a process group of its own: stop them all.
        if let Ok(sh) = Shell::new() {
            let _ = process::stop(&sh, self.0.id(), Duration::from_secs(5));
        }
        let _ = self.0.wait();
    }
}

pub(super) fn measure(sh: &Shell, green_url: &str, quick: bool) -> Result<Figures> {
    setup::ensure_debian_package(sh, "hey", "/usr/bin/hey")?;
    let bin = setup::ensure_cargo_lambda(sh)?;
    let (requests, repeats) = if quick { (1_000, 3) } else { (10_000, 5) };

    eprintln!("bench: hey against the local gateway");
    let gateway = loads(&format!("{green_url}/version"), requests, repeats)?;

    eprintln!(
        "bench: starting cargo lambda watch --release (it compiles the app for the host on the first request: minutes)"
    );
    let port = watch_port()?;
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let watch = Watch(
        Command::new(bin.join("cargo-lambda"))
            .args([
                "lambda",
                "watch",
                "--release",
                "-p",
                "app",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .args(["--env-var", "GREETING=hello from the bench"])
            .current_dir(setup::workspace_root())
            .env("PATH", path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting cargo lambda watch")?,
    );
    let url = format!("http://127.0.0.1:{port}/lambda-url/bootstrap/version");
    wait_until_answers(&url, Duration::from_secs(600))?;
    let cargo_lambda_watch = loads(&url, requests, repeats)?;
    drop(watch);

    let c16 = |loads: &[Load]| {
        loads
            .iter()
            .find(|l| l.concurrency == 16)
            .map_or(f64::NAN, |l| l.requests_per_s)
    };
    let ratio_c16 = c16(&gateway) / c16(&cargo_lambda_watch);
    Ok(Figures {
        gateway,
        cargo_lambda_watch,
        ratio_c16,
    })
}

/// The port `cargo lambda watch` serves on: one nobody holds, so the load measures it and not
/// whatever else answered there (it was `9000 + pid % 1000`, held or not: security-audit-3 #26).
fn watch_port() -> Result<u16> {
    process::free_port()
}

fn loads(url: &str, requests: usize, repeats: usize) -> Result<Vec<Load>> {
    [1, 16]
        .into_iter()
        .map(|concurrency| load(url, concurrency, requests, repeats))
        .collect()
}

fn load(url: &str, concurrency: usize, requests: usize, repeats: usize) -> Result<Load> {
    // A short warm-up so instances exist before the measured runs.
    hey(url, concurrency, concurrency * 10)?;
    let runs: Vec<Hey> = (0..repeats)
        .map(|_| figures(&hey(url, concurrency, requests)?))
        .collect::<Result<_>>()?;
    let median = |pick: fn(&Hey) -> f64| super::Summary::of(runs.iter().map(pick).collect()).median;
    Ok(Load {
        concurrency,
        requests,
        repeats,
        requests_per_s: median(|h| h.requests_per_s),
        p50_ms: median(|h| h.p50_ms),
        p99_ms: median(|h| h.p99_ms),
    })
}

struct Hey {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs hey; fails unless every request got a 200. Returns its report.
fn hey(url: &str, concurrency: usize, requests: usize) -> Result<String> {
    let output = Command::new("hey")
        .args([
            "-n",
            &requests.to_string(),
            "-c",
            &concurrency.to_string(),
            url,
        ])
        .output()
        .context("running hey")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // Each of hey's workers sends requests / concurrency of them.
    let sent = requests / concurrency * concurrency;
    if !output.status.success() || !text.contains(&format!("[200]\t{sent} responses")) {
        bail!("hey against {url} did not get {sent} answers of 200:\n{text}");
    }
    Ok(text)
}

/// The figures of a hey report (its percentiles need a few hundred requests).
fn figures(text: &str) -> Result<Hey> {
    let number = |prefix: &str| -> Result<f64> {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .with_context(|| format!("no {prefix:?} in hey's output"))?;
        let value = line
            .trim_start()
            .trim_start_matches(prefix)
            .split_whitespace()
            .next()
            .unwrap_or_default();
        value
            .parse()
            .with_context(|| format!("{prefix:?} {value:?}"))
    };
    Ok(Hey {
        requests_per_s: number("Requests/sec:")?,
        p50_ms: number("50% in")? * 1e3,
        p99_ms: number("99% in")? * 1e3,
    })
}

fn wait_until_answers(url: &str, patience: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < patience {
        if hey(url, 1, 1).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("{url} did not answer within {} s", patience.as_secs())
}

pub(super) fn table(f: &Figures) -> String {
    let mut out = String::from(
        "| GET /version | concurrency | requests/s | p50 | p99 |\n|---|---|---|---|---|\n",
    );
    for (name, loads) in [
        ("local gateway", &f.gateway),
        ("cargo lambda watch", &f.cargo_lambda_watch),
    ] {
        for l in loads {
            out.push_str(&format!(
                "| {name} | {} | {:.0} | {:.2} ms | {:.2} ms |\n",
                l.concurrency, l.requests_per_s, l.p50_ms, l.p99_ms
            ));
        }
    }
    out.push_str(&format!(
        "| gateway / cargo lambda watch at c16 | | {:.2}x | | |\n",
        f.ratio_c16
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cargo_lambda_watch_gets_a_port_nobody_holds() {
        // The port the bench took before, held here as another process might hold it.
        let old = 9_000 + u16::try_from(std::process::id() % 1_000).unwrap();
        let _held = std::net::TcpListener::bind(("127.0.0.1", old));
        let port = super::watch_port().unwrap();
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} is held"
        );
    }
}
