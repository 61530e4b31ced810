//! `bootstrap`: the Lambda function's entry point, also a local HTTP server.
//!
//! Initializes tracing, reads the configuration, builds the global pipeline once (a set-up
//! error stops the process with one clear message), then serves the router: under Lambda with
//! `lambda_http` when `AWS_LAMBDA_RUNTIME_API` is set (as in Lambda and `cargo lambda watch`),
//! otherwise with a plain local server on `--bind`. Under Lambda, [`tts::lambda::serve`] runs the
//! concurrent runners with SnapStart hooks and survives clients that go away.

use std::process::ExitCode;

use clap::Parser;
use tts::api::{router, AppState, Metrics};
use tts::config::{lambda_max_concurrency, Config};
use tts::pipeline::Pipeline;

/// glibc malloc arenas the process may use, unless `MALLOC_ARENA_MAX` says otherwise. glibc's
/// default (8 per core) gives each of the many threads that allocate tensors (tokio's blocking
/// pool, OpenVINO's workers) an arena of its own that keeps what it freed: under the soak's mixed
/// load RSS crept up ~190 MB in 20 s after the working set was reached and kept rising; with 2
/// arenas it stayed within 1 MB of its working set for 40 s (Piper, 2 slots, Intel Xeon 2 cores).
const MALLOC_ARENAS: i32 = 2;

/// Sets [`MALLOC_ARENAS`] before any thread exists; returns the limit it set, if it set one.
fn limit_malloc_arenas() -> Option<i32> {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return None; // glibc has read it at start
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt sets one allocator parameter; no other thread runs yet.
        let set = unsafe { libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS) } == 1;
        set.then_some(MALLOC_ARENAS)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

fn main() -> ExitCode {
    let arenas = limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve(arenas)),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(malloc_arenas: Option<i32>) -> ExitCode {
    let process_started = std::time::Instant::now();
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(in_lambda);
    let config = Config::parse();
    let settings = match config.settings(in_lambda) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = config.runtime_options();
    let build_settings = settings.clone();
    let pipeline =
        match tokio::task::spawn_blocking(move || Pipeline::global(runtime, &build_settings)).await
        {
            Ok(Ok(pipeline)) => pipeline,
            Ok(Err(error)) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
            Err(panic) => {
                eprintln!("error: the pipeline could not be built: {panic}");
                return ExitCode::FAILURE;
            }
        };
    let startup = pipeline.startup();
    tracing::info!(
        load_ms = pipeline.load_time().as_millis() as u64,
        runtime_ms = startup.runtime_ms,
        models_ms = startup.models_ms,
        espeak_ms = startup.espeak_ms,
        model_ms = ?pipeline.model_times(),
        process_ms = process_started.elapsed().as_secs_f64() * 1e3,
        cpu = %pipeline.runtime_info().precision.cpu,
        precision = %config.precision,
        effective_precision = ?pipeline.runtime_info().precision.effective,
        models = ?pipeline.models().all().iter().map(|m| &m.id).collect::<Vec<_>>(),
        limits = ?settings.limits,
        access = ?settings.access,
        ?malloc_arenas,
        "pipeline ready"
    );
    let metrics = if config.metrics.enabled(in_lambda) {
        Metrics::emf(&config.metrics_namespace)
    } else {
        Metrics::off()
    };
    metrics.init(
        &[
            ("Runtime", startup.runtime_ms),
            ("Espeak", startup.espeak_ms),
            ("Models", startup.models_ms),
            ("Total", process_started.elapsed().as_secs_f64() * 1e3),
        ],
        pipeline.model_times(),
    );
    let streaming = settings.limits.streaming;
    let app = router(
        AppState::new(
            pipeline.models().clone(),
            settings.limits,
            pipeline.runtime_info(),
        )
        .with_metrics(metrics)
        .with_access(settings.access.clone())
        .with_playground(config.playground),
    );

    if in_lambda {
        // One router, the runner the function URL's invoke mode needs, concurrent where Lambda
        // sends several requests at once (it falls back to one at a time otherwise); it never
        // returns (see tts::lambda).
        tracing::info!(
            max_concurrency = lambda_max_concurrency().unwrap_or(1),
            streaming,
            "serving the Lambda runtime API"
        );
        tts::lambda::serve(app, streaming, pipeline).await;
        return ExitCode::SUCCESS;
    }
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "error: cannot listen on {}: {error} (set --bind or TTS_BIND)",
                config.bind
            );
            return ExitCode::FAILURE;
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(address = %local, "listening");
    // Machine-readable start-up phases (the load test reads them), then the address.
    println!(
        "startup {}",
        serde_json::json!({
            "runtime_ms": pipeline.startup().runtime_ms,
            "models_ms": pipeline.startup().models_ms,
            "ready_ms": process_started.elapsed().as_secs_f64() * 1e3,
        })
    );
    // Tests and scripts read this line to find the port when binding to port 0.
    println!("listening on http://{local}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn init_tracing(in_lambda: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if in_lambda {
        // CloudWatch: one JSON object per line, no ANSI colours, Lambda adds its own timestamps.
        builder.json().with_ansi(false).without_time().init();
    } else {
        builder.init();
    }
}
