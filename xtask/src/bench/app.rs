//! The app's figures, beside a bare lambda_http hello world built with the same profile:
//! binary size, cold start (process spawn to the first response posted to the Runtime API)
//! and warm invocation latency, as a host process and in Lambda's sandbox (the local data
//! plane's bwrap), so the sandbox's cost is measured in the same run.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use xshell::Shell;

use super::Summary;
use bgd_core::{
    config,
    facts::BuildFacts,
    image::{self, Binary, Checkout},
    setup,
};
use bgd_local::{
    architecture::Architecture,
    runtime::{Instance, Isolation, Outcome, Spec, Unpacked},
    sandbox::Sandbox,
};

#[derive(Debug, Serialize)]
pub(super) struct Figures {
    pub bootstrap_bytes: u64,
    /// The image's one layer as pushed (gzip of bootstrap and CA bundle).
    pub image_layer_bytes: u64,
    pub image_digest: String,
    pub hello_bytes: u64,
    /// Milliseconds from spawn to the first response, app and hello world interleaved.
    pub cold_start_ms: Summary,
    pub hello_cold_start_ms: Summary,
    pub cold_start_ratio: f64,
    /// Microseconds per invocation of a warm instance, Runtime API round trip included.
    pub warm_invoke_us: Summary,
    /// The app's cold start and warm invocation in Lambda's sandbox, interleaved with the
    /// host-process runs above.
    pub sandboxed_cold_start_ms: Summary,
    pub sandboxed_warm_invoke_us: Summary,
    /// Seconds to rebuild the release bootstrap after an editor saved one app file: the
    /// compile part of edit-to-green (the release profile in Cargo.toml decides it).
    pub app_rebuild_s: Summary,
}

/// bgd's own sample (`app`'s `bootstrap`, `[app]`'s defaults), whatever deploy.toml names:
/// the figures of the goals are the sample's.
pub(super) fn measure(
    runtime: &tokio::runtime::Runtime,
    sh: &Shell,
    facts: &BuildFacts,
    quick: bool,
) -> Result<Figures> {
    let this = Checkout::this();
    let bootstrap = image::build_release(
        sh,
        &this,
        "x86_64",
        facts,
        Binary::Lambda(&config::App::default()),
    )?;
    let image = image::assemble_image(&bootstrap, "x86_64", facts)?;
    let hello = image::build_release(sh, &this, "x86_64", facts, Binary::Hello)?;
    let (cold_runs, warm_runs, rebuilds) = if quick { (30, 200, 2) } else { (50, 2000, 5) };
    let app_rebuild_s = rebuild_after_edit(sh, &this, facts, rebuilds)?;
    let rootfs = setup::target_dir().join("bench/rootfs");
    let _ = std::fs::remove_dir_all(&rootfs);
    let app = Arc::new(Unpacked::with_bootstrap(&bootstrap, &rootfs.join("app"))?);
    let hello_image = Arc::new(Unpacked::with_bootstrap(&hello, &rootfs.join("hello"))?);
    let sandbox = Isolation::Sandbox(Arc::new(Sandbox::detect()?));

    runtime.block_on(async {
        let mut app_cold = Vec::new();
        let mut hello_cold = Vec::new();
        let mut sandboxed_cold = Vec::new();
        eprintln!(
            "bench: {cold_runs} cold starts each of bootstrap, hello world and bootstrap in the sandbox, interleaved"
        );
        for _ in 0..cold_runs {
            app_cold.push(cold_start(spec(&app, Isolation::Host)).await?);
            hello_cold.push(cold_start(spec(&hello_image, Isolation::Host)).await?);
            sandboxed_cold.push(cold_start(spec(&app, sandbox.clone())).await?);
        }
        eprintln!("bench: {warm_runs} warm invocations, as a host process and in the sandbox");
        let warm = warm_invokes(spec(&app, Isolation::Host), warm_runs).await?;
        let sandboxed_warm = warm_invokes(spec(&app, sandbox.clone()), warm_runs).await?;
        let (cold_start_ms, hello_cold_start_ms) = (Summary::of(app_cold), Summary::of(hello_cold));
        anyhow::Ok(Figures {
            bootstrap_bytes: std::fs::metadata(&bootstrap)?.len(),
            image_layer_bytes: image.layer.len() as u64,
            image_digest: image.digest(),
            hello_bytes: std::fs::metadata(&hello)?.len(),
            cold_start_ratio: cold_start_ms.median / hello_cold_start_ms.median,
            cold_start_ms,
            hello_cold_start_ms,
            warm_invoke_us: Summary::of(warm),
            sandboxed_cold_start_ms: Summary::of(sandboxed_cold),
            sandboxed_warm_invoke_us: Summary::of(sandboxed_warm),
            app_rebuild_s,
        })
    })
}

/// Release rebuilds after an editor's save of `app/src/lib.rs` (a new mtime, which is what
/// cargo compares), each timed.
fn rebuild_after_edit(
    sh: &Shell,
    checkout: &Checkout,
    facts: &BuildFacts,
    runs: usize,
) -> Result<Summary> {
    let edited = checkout.root.join("app/src/lib.rs");
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        std::fs::File::options()
            .append(true)
            .open(&edited)
            .and_then(|file| file.set_modified(std::time::SystemTime::now()))
            .with_context(|| format!("touching {}", edited.display()))?;
        let start = Instant::now();
        image::build_release(
            sh,
            checkout,
            "x86_64",
            facts,
            Binary::Lambda(&config::App::default()),
        )?;
        samples.push(start.elapsed().as_secs_f64());
    }
    Ok(Summary::of(samples))
}

fn spec(image: &Arc<Unpacked>, isolation: Isolation) -> Spec {
    Spec {
        image: image.clone(),
        isolation,
        function_name: "bench".into(),
        version: "1".into(),
        invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:bench:green".into(),
        region: "us-east-1".into(),
        environment: vec![("GREETING".into(), "hello".into())],
        memory_mb: 128,
        timeout: Duration::from_secs(5),
        architecture: Architecture::X86_64,
        log_file: None,
    }
}

fn version_event() -> Result<Vec<u8>> {
    let path = setup::workspace_root().join("app/tests/events/version.json");
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

async fn cold_start(spec: Spec) -> Result<f64> {
    let event = version_event()?;
    let mut instance = Instance::start(spec).await?;
    let outcome = instance.invoke(event.into()).await;
    let elapsed = instance.started.elapsed();
    instance.stop().await;
    expect_response(outcome)?;
    Ok(elapsed.as_secs_f64() * 1e3)
}

async fn warm_invokes(spec: Spec, runs: usize) -> Result<Vec<f64>> {
    let event = axum::body::Bytes::from(version_event()?);
    let mut instance = Instance::start(spec).await?;
    expect_response(instance.invoke(event.clone()).await)?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let outcome = instance.invoke(event.clone()).await;
        samples.push(start.elapsed().as_secs_f64() * 1e6);
        expect_response(outcome)?;
    }
    instance.stop().await;
    Ok(samples)
}

fn expect_response(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Response(_) => Ok(()),
        other => bail!("the benchmarked function did not answer: {other:?}"),
    }
}

pub(super) fn table(f: &Figures) -> String {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    format!(
        "| figure | app | hello world |\n\
         |---|---|---|\n\
         | release binary | {:.2} MB | {:.2} MB |\n\
         | image layer (gzip: bootstrap, CA bundle) | {:.2} MB | |\n\
         | cold start median / p90 (ms, n={}) | {:.2} / {:.2} | {:.2} / {:.2} |\n\
         | cold start ratio app / hello | {:.2}x | |\n\
         | warm invoke p50 / p99 (µs, n={}) | {:.0} / {:.0} | |\n\
         | in Lambda's sandbox (bwrap): cold start median / p90 (ms) | {:.2} / {:.2} | |\n\
         | in Lambda's sandbox (bwrap): warm invoke p50 / p99 (µs) | {:.0} / {:.0} | |\n\
         | release rebuild after one app file's edit, median / p90 (s, n={}) | {:.2} / {:.2} | |\n",
        mb(f.bootstrap_bytes),
        mb(f.hello_bytes),
        mb(f.image_layer_bytes),
        f.cold_start_ms.runs,
        f.cold_start_ms.median,
        f.cold_start_ms.p90,
        f.hello_cold_start_ms.median,
        f.hello_cold_start_ms.p90,
        f.cold_start_ratio,
        f.warm_invoke_us.runs,
        f.warm_invoke_us.median,
        f.warm_invoke_us.p99,
        f.sandboxed_cold_start_ms.median,
        f.sandboxed_cold_start_ms.p90,
        f.sandboxed_warm_invoke_us.median,
        f.sandboxed_warm_invoke_us.p99,
        f.app_rebuild_s.runs,
        f.app_rebuild_s.median,
        f.app_rebuild_s.p90,
    )
}
