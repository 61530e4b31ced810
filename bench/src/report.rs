//! The benchmark report: merges whatever of `engine.json`, `loadtest.json` (SpeechT5),
//! `loadtest-piper.json`, `peers.json` and `bandwidth.json` exist in `$TTS_BENCH_OUT` (default
//! `<repo>/target/bench-report`) into `report.json`, and writes `report.md` with tables and SVG
//! plots (plotters' SVG backend: no fonts needed). Both model families sit side by side: the
//! SpeechT5 figures first in each section, Piper's after them, and a `## Piper` section for
//! what only Piper has (phonemization by the eSpeak NG helper); the streamed playback of each
//! family (time to first audio byte, stalls) has a section per family. A missing or unreadable input is named in the report, never a crash. Every
//! number in the report comes from those files or from this machine (/proc, git).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Parser;
use plotters::prelude::*;
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(about = "Build report.md / report.json / *.svg from the benchmark JSON files")]
struct Args {
    /// Folder holding the inputs and receiving the report (default: $TTS_BENCH_OUT, else <repo>/target/bench-report)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Threads / precision / model of the run, shown when no input file records them (bench/run.sh passes them)
    #[arg(long)]
    threads: Option<u32>,
    #[arg(long)]
    precision: Option<String>,
    #[arg(long)]
    model_dir: Option<String>,
}

/// Each input: its key in `report.json`, its file, and what makes it.
const INPUTS: [(&str, &str, &str); 6] = [
    (
        "engine",
        "engine.json",
        "criterion benches: `cargo bench -p tts-bench`",
    ),
    (
        "loadtest",
        "loadtest.json",
        "SpeechT5 load-test suite: `cargo run -p tts-loadtest -- suite`",
    ),
    (
        "loadtest_piper",
        "loadtest-piper.json",
        "Piper load-test suite: `cargo run -p tts-loadtest -- suite --family piper`",
    ),
    ("peers", "peers.json", "bench/peers/genai_speecht5.py --out"),
    (
        "piper_paired",
        "piper-paired.json",
        "the paired Piper peer: bench/peers/piper_paired.sh --out",
    ),
    ("bandwidth", "bandwidth.json", "`bandwidth` binary"),
];

fn main() {
    let args = Args::parse();
    let dir = args.dir.unwrap_or_else(|| {
        std::env::var_os("TTS_BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/bench-report"))
    });
    let mut m = machine();
    m["run"] =
        json!({"threads": args.threads, "precision": args.precision, "model_dir": args.model_dir});
    match run(&dir, &m) {
        Ok(()) => println!("report: {}", dir.join("report.md").display()),
        Err(e) => {
            eprintln!("report: {e}");
            std::process::exit(1);
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads the inputs, writes report.json, report.md and the plots into `dir`.
fn run(dir: &Path, machine: &Value) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut data = Map::new();
    let mut notes = Vec::new();
    for (key, file, what) in INPUTS {
        let path = dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(s) => match serde_json::from_str::<Value>(&s) {
                Ok(v) => {
                    data.insert(key.into(), v);
                }
                Err(e) => notes.push(format!(
                    "`{file}` is not valid JSON ({e}): {what} left out."
                )),
            },
            Err(_) => notes.push(format!("`{file}` missing: {what} did not run.")),
        }
    }
    let d = |k: &str| data.get(k).cloned().unwrap_or(Value::Null);
    let (engine, load, peers, bw) = (d("engine"), d("loadtest"), d("peers"), d("bandwidth"));
    let piper_load = d("loadtest_piper");

    let mut merged = Map::new();
    merged.insert("machine".into(), machine.clone());
    merged.insert("missing".into(), json!(notes));
    for (k, v) in &data {
        merged.insert(k.clone(), v.clone());
    }

    let mut md = String::new();
    let threads = first(&[
        &engine["config"]["threads"],
        &peers["threads"],
        &load["config"]["threads"],
        &machine["run"]["threads"],
        &bw["threads"],
    ]);
    let precision = first(&[
        &engine["config"]["precision"],
        &peers["precision"],
        &load["config"]["precision"],
        &machine["run"]["precision"],
    ]);
    // What OpenVINO really ran (engine.json's `device`): a CPU without the precision asked for
    // runs another one quietly, and the figures are then that precision's.
    let device = &engine["device"];
    let (precision, precision_row) =
        match (device["requested"].as_str(), device["effective"].as_str()) {
            (Some(asked), Some(runs)) if asked != runs => (
                json!(runs),
                format!("{runs} (asked for {asked}: this CPU does not compute in {asked})"),
            ),
            (Some(_), Some(runs)) => (json!(runs), format!("{runs} (as asked)")),
            _ => (precision.clone(), s(&precision)),
        };
    let model = first(&[
        &engine["config"]["model_dir"],
        &peers["model"],
        &load["config"]["model_dir"],
        &machine["run"]["model_dir"],
        &bw["decoder"]["model_dir"],
    ]);
    let piper_voice = first(&[
        &engine["piper"]["voice_dir"],
        &piper_load["config"]["model_dir"],
    ]);
    let smoke = engine["config"]["smoke"].as_bool().unwrap_or(false)
        || load["config"]["smoke"].as_bool().unwrap_or(false)
        || piper_load["config"]["smoke"].as_bool().unwrap_or(false);
    let _ = writeln!(md, "# Benchmark report\n");
    if smoke {
        let _ = writeln!(md, "> Smoke run (tiny model, minimal repetitions): checks the suite works; the numbers mean nothing.\n");
    }
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    for (k, v) in [
        ("CPU", s(&machine["cpu"])),
        ("CPU (OpenVINO)", s(&device["cpu"])),
        (
            "OpenVINO capabilities",
            device["capabilities"].as_array().map_or("—".into(), |c| {
                c.iter().map(s).collect::<Vec<_>>().join(", ")
            }),
        ),
        ("cores", s(&machine["cores"])),
        (
            "memory",
            machine["memory_gb"]
                .as_f64()
                .map_or("—".into(), |g| format!("{g:.1} GB")),
        ),
        ("threads", s(&threads)),
        ("precision", precision_row),
        ("model", s(&model)),
        ("Piper voice", s(&piper_voice)),
        ("date (UTC)", s(&machine["date"])),
        ("git commit", s(&machine["commit"])),
    ] {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    let _ = writeln!(md);
    if !notes.is_empty() {
        let _ = writeln!(md, "Inputs not available:\n");
        for n in &notes {
            let _ = writeln!(md, "- {n}");
        }
        let _ = writeln!(md);
    }

    let mut plots = Vec::new();
    section_steps(&mut md, &engine, &peers, &bw, &precision);
    if plot_positions(&dir.join("decoder_positions.svg"), &engine, &peers, &bw)? {
        plots.push("decoder_positions.svg");
        let _ = writeln!(
            md,
            "![Per-step decoder latency across positions](decoder_positions.svg)\n"
        );
    }
    section_components(&mut md, &engine);
    section_rtf(&mut md, &engine);
    section_rtf_piper(&mut md, &engine);
    if plot_rtf(&dir.join("rtf_vs_length.svg"), &engine)? {
        plots.push("rtf_vs_length.svg");
        let _ = writeln!(md, "![RTF vs input length](rtf_vs_length.svg)\n");
    }
    section_cold(&mut md, &load, &piper_load);
    section_sweep(&mut md, &load, &piper_load);
    if plot_cdf(
        &dir.join("latency_cdf.svg"),
        "SpeechT5 request latency distribution (CDF)",
        &load,
    )? {
        plots.push("latency_cdf.svg");
        let _ = writeln!(
            md,
            "![Latency distribution per concurrency](latency_cdf.svg)\n"
        );
    }
    if plot_cdf(
        &dir.join("latency_cdf_piper.svg"),
        "Piper request latency distribution (CDF)",
        &piper_load,
    )? {
        plots.push("latency_cdf_piper.svg");
        let _ = writeln!(
            md,
            "![Piper latency distribution per concurrency](latency_cdf_piper.svg)\n"
        );
    }
    if plot_throughput(
        &dir.join("throughput_vs_concurrency.svg"),
        &load,
        &piper_load,
    )? {
        plots.push("throughput_vs_concurrency.svg");
        let _ = writeln!(
            md,
            "![Throughput vs concurrency](throughput_vs_concurrency.svg)\n"
        );
    }
    section_stream(&mut md, "SpeechT5", "loadtest.json", &load);
    section_stream(&mut md, "Piper", "loadtest-piper.json", &piper_load);
    section_piper(&mut md, &engine);
    section_piper_paired(&mut md, &d("piper_paired"));
    merged.insert("plots".into(), json!(plots));

    write(&dir.join("report.md"), &md)?;
    write(
        &dir.join("report.json"),
        &(serde_json::to_string_pretty(&Value::Object(merged)).unwrap() + "\n"),
    )
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn first(vals: &[&Value]) -> Value {
    vals.iter()
        .find(|v| !v.is_null())
        .map(|v| (*v).clone())
        .unwrap_or(Value::Null)
}

/// A value as table text ("—" when absent).
fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(x) => x.clone(),
        Value::Number(n) => n.as_f64().map_or(n.to_string(), |f| num(f, 3)),
        other => other.to_string(),
    }
}

/// A number with `sig` significant digits at most, never in exponent form.
fn num(f: f64, sig: i32) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    if f.fract() == 0.0 && f.abs() < 1e9 {
        return format!("{f:.0}");
    }
    let mag = f.abs().log10().floor() as i32;
    let decimals = (sig - 1 - mag).clamp(0, 6) as usize;
    format!("{f:.decimals$}")
}

fn ms(v: &Value) -> String {
    v.as_f64()
        .map_or("—".into(), |x| format!("{} ms", num(x, 3)))
}

fn section_steps(md: &mut String, engine: &Value, peers: &Value, bw: &Value, precision: &Value) {
    let _ = writeln!(md, "## Per-step decoder latency\n");
    let steps = first(&[&engine["steps"], &peers["steps"]]);
    let (n, n2) = (s(&steps[0]), s(&steps[1]));
    let text = first(&[&peers["text"]]);
    let _ = writeln!(
        md,
        "Whole utterances with forced step counts n = {n} and 2n = {n2}; derived per step = (t(2n) − t(n)) / n \
         (includes the postnet and vocoder work that grows with each step). \"Decoder step alone\" is one \
         decoder inference with a warm state (median over the measured positions).{}\n",
        if text.is_null() { String::new() } else { format!(" Text: \"{}\".", s(&text)) }
    );
    let _ = writeln!(
        md,
        "| engine | precision | t(n) | t(2n) | per step, derived | decoder step alone |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let p = s(precision);
    if engine.is_null() {
        let _ = writeln!(
            md,
            "| this engine | {p} | — | — | — (engine.json missing) | — |"
        );
    } else {
        let alone = engine["decoder_step"].as_array().and_then(|a| {
            let mut v: Vec<f64> = a.iter().filter_map(|r| r["median_ms"].as_f64()).collect();
            median(&mut v)
        });
        let _ = writeln!(
            md,
            "| this engine | {p} | {} | {} | {} | {} |",
            ms(&engine["utterance_ms"][0]),
            ms(&engine["utterance_ms"][1]),
            ms(&engine["per_step_derived_ms"]),
            alone.map_or("—".into(), |x| format!("{} ms", num(x, 3)))
        );
    }
    for (key, name) in [
        ("genai", "OpenVINO GenAI"),
        ("torch", "transformers (PyTorch)"),
    ] {
        let e = &peers[key];
        if peers.is_null() {
            let _ = writeln!(
                md,
                "| {name} | — | — | — | — (peers.json missing) | (not measured) |"
            );
        } else if e.is_null() {
            let _ = writeln!(
                md,
                "| {name} | {} | — | — | — (not run) | (not measured) |",
                s(&peers["precision"])
            );
        } else {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | (not measured) |",
                s(&peers["precision"]),
                ms(&e["utterance_ms"][0]),
                ms(&e["utterance_ms"][1]),
                ms(&e["per_step_derived_ms"])
            );
        }
    }
    let mut warnings = Vec::new();
    for (v, name) in [
        (&engine["per_step_derived_ms"], "this engine"),
        (&peers["genai"]["per_step_derived_ms"], "GenAI"),
        (&peers["torch"]["per_step_derived_ms"], "PyTorch"),
    ] {
        if v.as_f64().is_some_and(|x| x <= 0.0) {
            warnings.push(format!(
                "{name}: t(2n) ≤ t(n), so its derived per-step figure is meaningless (the run was disturbed; \
                 check the load and run again)."
            ));
        }
    }
    for (key, name) in [("genai", "GenAI"), ("torch", "PyTorch")] {
        let got = &peers[key]["steps_from_samples"];
        if !got.is_null() && *got != peers["steps"] {
            warnings.push(format!(
                "{name} ran {got} decoder steps (from its audio length) instead of {}: the model stopped early, \
                 so its derived figure is not comparable.",
                peers["steps"]
            ));
        }
    }
    if bw.is_null() {
        let _ = writeln!(
            md,
            "| memory-bandwidth bound | — | | | — (bandwidth.json missing) | |"
        );
    } else {
        let _ = writeln!(
            md,
            "| memory-bandwidth bound | {} | | | | {} |",
            s(&bw["decoder"]["weight_type"]),
            ms(&bw["bound_ms_per_step"])
        );
        let _ = writeln!(
            md,
            "\nBound: the decoder reads {} MB of weights per step (decoder .bin minus the cross-attention K/V \
             projections, which run only at step 1, and the positional table, of which one row is read); \
             this machine reads {} GB/s ({}).",
            bw["decoder_bytes_per_step"].as_f64().map_or("—".into(), |b| num(b / 1e6, 4)),
            bw["gb_per_s"].as_f64().map_or("—".into(), |g| num(g, 3)),
            s(&bw["method"])
        );
    }
    for w in warnings {
        let _ = writeln!(md, "\nWarning: {w}");
    }
    if let Some(rows) = engine["decoder_step"].as_array().filter(|a| !a.is_empty()) {
        let _ = writeln!(md, "\n| decoder position | median | p90 |\n|---|---|---|");
        for r in rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                s(&r["position"]),
                ms(&r["median_ms"]),
                ms(&r["p90_ms"])
            );
        }
    }
    let _ = writeln!(md);
}

fn section_components(md: &mut String, engine: &Value) {
    if engine.is_null() {
        return;
    }
    let _ = writeln!(md, "## Engine components\n");
    let _ = writeln!(md, "| stage | median |\n|---|---|");
    for e in engine["encoder"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| encoder, {} tokens | {} |",
            s(&e["tokens"]),
            ms(&e["median_ms"])
        );
    }
    let _ = writeln!(md, "| postnet | {} |", ms(&engine["postnet_ms"]));
    let _ = writeln!(
        md,
        "| vocoder, per second of audio | {} |",
        ms(&engine["vocoder_ms_per_audio_second"])
    );
    let t = &engine["text"];
    if !t.is_null() {
        let _ = writeln!(
            md,
            "| text normalization, {} chars | {} |",
            s(&t["chars"]),
            ms(&t["normalize_ms"])
        );
        let _ = writeln!(
            md,
            "| tokenization, {} chars | {} |",
            s(&t["chars"]),
            ms(&t["tokenize_ms"])
        );
    }
    if let Some(enc) = engine["audio_encoders_ms_per_audio_second"].as_object() {
        for (f, v) in enc {
            let _ = writeln!(md, "| {f} encoding, per second of audio | {} |", ms(v));
        }
    }
    let _ = writeln!(md);
}

fn section_rtf(md: &mut String, engine: &Value) {
    let _ = writeln!(md, "## End-to-end real-time factor\n");
    let Some(rows) = engine["utterances"].as_array().filter(|a| !a.is_empty()) else {
        let _ = writeln!(
            md,
            "No data (engine.json missing or without `utterances`).\n"
        );
        return;
    };
    let _ = writeln!(
        md,
        "RTF = synthesis time / audio duration (lower is faster; < 1 is faster than real time).\n"
    );
    let _ = writeln!(md, "| input | chars | tokens | steps | audio | median time | RTF |\n|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} s | {} | {} |",
            s(&r["label"]),
            s(&r["chars"]),
            s(&r["tokens"]),
            s(&r["steps"]),
            s(&r["audio_seconds"]),
            ms(&r["median_ms"]),
            s(&r["rtf"])
        );
    }
    let _ = writeln!(md);
}

fn section_cold(md: &mut String, load: &Value, piper: &Value) {
    let _ = writeln!(md, "## Cold start\n");
    let rows = load["cold_start"].as_array().filter(|a| !a.is_empty());
    match rows {
        None => {
            let _ = writeln!(
                md,
                "No data (loadtest.json missing or without `cold_start`).\n"
            );
        }
        Some(rows) => {
            let _ = writeln!(
                md,
                "Medians from process start: runtime loaded, models compiled, ready to serve, first audio byte of the first request. \
                 The function serves one model in each measurement.\n\nSpeechT5 ({}):\n",
                model_name(load)
            );
            cold_table(md, rows);
        }
    }
    match piper["cold_start"].as_array().filter(|a| !a.is_empty()) {
        None => {
            let _ = writeln!(
                md,
                "Piper: no data (loadtest-piper.json missing or without `cold_start`).\n"
            );
        }
        Some(rows) => {
            let _ = writeln!(
                md,
                "Piper ({}; the eSpeak NG helper starts before ready):\n",
                model_name(piper)
            );
            cold_table(md, rows);
        }
    }
}

/// The last two components of a load-test report's model folder, for a table's label.
fn model_name(load: &Value) -> String {
    let dir = load["config"]["model_dir"]
        .as_str()
        .map_or("—".into(), |d| {
            let parts: Vec<&str> = d.trim_end_matches('/').rsplit('/').take(2).collect();
            parts.into_iter().rev().collect::<Vec<_>>().join("/")
        });
    format!("`{dir}`")
}

fn cold_table(md: &mut String, rows: &[Value]) {
    let _ = writeln!(md, "| compiled-model cache | runs | runtime | models | ready | first audio byte |\n|---|---|---|---|---|---|");
    for r in rows {
        let m = &r["median"];
        let cache = match r["cache"].as_bool() {
            Some(true) => "with cache (warm)",
            Some(false) => "without cache",
            None => "—",
        };
        let _ = writeln!(
            md,
            "| {cache} | {} | {} | {} | {} | {} |",
            s(&r["runs"]),
            ms(&m["runtime_ms"]),
            ms(&m["models_ms"]),
            ms(&m["ready_ms"]),
            ms(&m["first_audio_byte_ms"])
        );
    }
    let _ = writeln!(md);
}

fn section_sweep(md: &mut String, load: &Value, piper: &Value) {
    let _ = writeln!(md, "## Concurrency sweep\n");
    match load["sweep"].as_array().filter(|a| !a.is_empty()) {
        None => {
            let _ = writeln!(md, "No data (loadtest.json missing or without `sweep`).\n");
        }
        Some(rows) => {
            let _ = writeln!(md, "SpeechT5 ({}):\n", model_name(load));
            sweep_table(md, load, rows);
        }
    }
    match piper["sweep"].as_array().filter(|a| !a.is_empty()) {
        None => {
            let _ = writeln!(
                md,
                "Piper: no data (loadtest-piper.json missing or without `sweep`).\n"
            );
        }
        Some(rows) => {
            let _ = writeln!(md, "Piper ({}):\n", model_name(piper));
            sweep_table(md, piper, rows);
        }
    }
}

fn sweep_table(md: &mut String, load: &Value, rows: &[Value]) {
    let _ = writeln!(
        md,
        "| concurrency | requests | p50 | p90 | p99 | TTFB p50 | TTFB p90 | RTF p50 | throughput (audio s/s) | errors |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let l = &r["latency_ms"];
        let t = &r["ttfb_ms"];
        let errors: Vec<String> = r["statuses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| k.as_str() != "200" && v.as_u64() != Some(0))
            .map(|(k, v)| format!("{k}: {}", s(v)))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s(&r["concurrency"]),
            s(&r["requests"]),
            ms(&l["p50"]),
            ms(&l["p90"]),
            ms(&l["p99"]),
            ms(&t["p50"]),
            ms(&t["p90"]),
            s(&r["rtf_p50"]),
            s(&r["throughput_audio_s_per_s"]),
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            }
        );
    }
    if let Some(peak) = load["rss_mb"].as_array().and_then(|a| {
        a.iter()
            .filter_map(|r| r["rss_mb"].as_f64())
            .reduce(f64::max)
    }) {
        let _ = writeln!(
            md,
            "\nPeak resident memory of the function during the load test: {} MB.",
            num(peak, 4)
        );
    }
    let _ = writeln!(md);
}

/// One family's streamed phase of the load test (`stream` in its report), under its own heading.
fn section_stream(md: &mut String, family: &str, file: &str, load: &Value) {
    let _ = writeln!(md, "## Streaming: {family}\n");
    let st = &load["stream"];
    if !st.is_object() {
        let _ = writeln!(md, "No data ({file} missing or without `stream`).\n");
        return;
    }
    let listen = st["listen_seconds"].as_f64().unwrap_or(0.0);
    let _ = writeln!(
        md,
        "{} ({}): {} requests one at a time, each a {}-character input streamed as raw pcm (`stream_format` audio); \
         the client {}. Stall: the time a player starting at the first audio byte, at real time, would wait for audio.\n",
        family,
        model_name(load),
        s(&st["requests"]),
        s(&st["input_chars"]),
        if listen > 0.0 {
            format!("hangs up after {} s of audio (latency then ends at the hang-up)", num(listen, 3))
        } else {
            "reads each answer to the end".into()
        },
    );
    let _ = writeln!(
        md,
        "| statuses | first audio byte p50 | p90 | stall p50 | stall p90 | stall max | stalled requests | hung up | latency p50 | latency max |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    let statuses: Vec<String> = st["statuses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {}", s(v)))
        .collect();
    let (t, stall, l) = (&st["ttfb_ms"], &st["stall_ms"], &st["latency_ms"]);
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        statuses.join(", "),
        ms(&t["p50"]),
        ms(&t["p90"]),
        ms(&stall["p50"]),
        ms(&stall["p90"]),
        ms(&stall["max"]),
        s(&st["stalled_requests"]),
        s(&st["hung_up"]),
        ms(&l["p50"]),
        ms(&l["max"]),
    );
}

fn section_rtf_piper(md: &mut String, engine: &Value) {
    let p = &engine["piper"];
    let Some(rows) = p["utterances"].as_array().filter(|a| !a.is_empty()) else {
        let _ = writeln!(
            md,
            "Piper: no data (engine.json missing or without `piper`: the Piper bench did not run).\n"
        );
        return;
    };
    let _ = writeln!(
        md,
        "Piper ({}, the voice's default scales {}): phonemization by the eSpeak NG helper, then one inference per sentence \
         (no pauses, no encoding). The model draws random noise, durations included, so each run makes a slightly \
         different amount of audio: RTF is the median over runs of time / that run's audio.\n",
        s(&p["voice"]),
        scales(p)
    );
    let _ = writeln!(md, "| input | chars | sentences | phoneme ids | audio (median) | median time | RTF | RTF p90 |\n|---|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} s | {} | {} | {} |",
            s(&r["label"]),
            s(&r["chars"]),
            s(&r["sentences"]),
            s(&r["phoneme_ids"]),
            s(&r["audio_seconds"]),
            ms(&r["median_ms"]),
            s(&r["rtf"]),
            s(&r["rtf_p90"])
        );
    }
    let speecht5 = engine["utterances"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(
        md,
        "\nBoth families, same texts:\n\n| input | chars | SpeechT5 RTF | Piper RTF |\n|---|---|---|---|"
    );
    for r in rows {
        let t5 = speecht5
            .iter()
            .find(|u| u["label"] == r["label"])
            .map_or(Value::Null, |u| u["rtf"].clone());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            s(&r["label"]),
            s(&r["chars"]),
            s(&t5),
            s(&r["rtf"])
        );
    }
    let _ = writeln!(md);
}

/// `noise a, length b, noise_w c` from the `piper` section.
fn scales(p: &Value) -> String {
    let names = ["noise", "length", "noise_w"];
    match p["scales"].as_array() {
        Some(v) if v.len() == 3 => names
            .iter()
            .zip(v)
            .map(|(n, x)| format!("{n} {}", s(x)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "—".into(),
    }
}

fn section_piper(md: &mut String, engine: &Value) {
    let _ = writeln!(md, "## Piper\n");
    let p = &engine["piper"];
    if p.is_null() {
        let _ = writeln!(
            md,
            "No data (engine.json missing or without `piper`: the Piper bench did not run).\n"
        );
        return;
    }
    let _ = writeln!(
        md,
        "Voice `{}` ({} Hz) from {}; eSpeak NG {} in the `espeak-phonemes` helper process. \
         Its real-time factor is in \"End-to-end real-time factor\", its cold start and concurrency sweep beside SpeechT5's.\n",
        s(&p["voice"]),
        s(&p["sample_rate"]),
        s(&p["voice_dir"]),
        s(&p["espeak"])
    );
    if let Some(rows) = p["phonemize"].as_array().filter(|a| !a.is_empty()) {
        let _ = writeln!(
            md,
            "Phonemization, one round trip to the helper (text in, sentences of IPA out):\n\n\
             | input | chars | sentences | phonemes | median |\n|---|---|---|---|---|"
        );
        for r in rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                s(&r["label"]),
                s(&r["chars"]),
                s(&r["sentences"]),
                s(&r["phonemes"]),
                ms(&r["median_ms"])
            );
        }
        let _ = writeln!(md);
    }
}

/// A measured figure (three significant digits), or `NaN` when it is missing.
fn figure(v: &Value) -> String {
    num(v.as_f64().unwrap_or(f64::NAN), 3)
}

fn section_piper_paired(md: &mut String, paired: &Value) {
    let _ = writeln!(md, "## Piper against piper-tts (paired)\n");
    let Some(texts) = paired["texts"].as_object() else {
        let _ = writeln!(
            md,
            "No data (piper-paired.json missing: bench/peers/piper_paired.sh did not run).\n"
        );
        return;
    };
    let _ = writeln!(
        md,
        "This function (the release bootstrap, its own `x-processing-seconds`) and piper-tts {} on \
         onnxruntime {} (the wall time of `PiperVoice.synthesize`), same voice, texts and {} threads, \
         {} rounds alternating in one run on {}. Ratio: function RTF / piper-tts RTF of each pair \
         (below 1: the function is faster).\n\n\
         | text | chars | function RTF p50 | piper-tts RTF p50 | ratio p50 | ratio p10–p90 |\n|---|---|---|---|---|---|",
        s(&paired["peer"]["piper-tts"]),
        s(&paired["peer"]["onnxruntime"]),
        s(&paired["threads"]),
        s(&paired["rounds"]),
        s(&paired["cpu"])
    );
    for (label, t) in texts {
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} | {} | {}–{} |",
            s(&t["chars"]),
            figure(&t["function_rtf"]["p50"]),
            figure(&t["peer_rtf"]["p50"]),
            figure(&t["ratio"]["p50"]),
            figure(&t["ratio"]["p10"]),
            figure(&t["ratio"]["p90"]),
        );
    }
    let st = &paired["stream"];
    let _ = writeln!(
        md,
        "\nStreamed ({} characters, pcm, raw socket): first audio byte p50 {} ms, p90 {} ms \
         (piper-tts, first sentence's audio: p50 {} ms).\n",
        s(&st["input_chars"]),
        figure(&st["function_first_byte_ms"]["p50"]),
        figure(&st["function_first_byte_ms"]["p90"]),
        figure(&st["peer_first_audio_ms"]["p50"]),
    );
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

// ---------- plots ----------

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

type Series = (String, Vec<(f64, f64)>);

/// Padded axis range over all points (y from 0).
fn ranges(
    series: &[Series],
    hlines: &[(String, f64)],
) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let ys = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .chain(hlines.iter().map(|h| h.1));
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let y1 = ys.fold(0.0f64, f64::max);
    let pad = ((x1 - x0) * 0.05).max(0.5);
    (x0 - pad..x1 + pad, 0.0..(y1 * 1.1).max(1e-6))
}

/// One line chart: each series as a line with dots, plus labelled horizontal lines.
fn line_chart(
    path: &Path,
    title: &str,
    xdesc: &str,
    ydesc: &str,
    series: &[Series],
    hlines: &[(String, f64)],
) -> Result<bool, String> {
    if series.iter().all(|s| s.1.is_empty()) {
        return Ok(false);
    }
    let err = |e: String| format!("{}: {e}", path.display());
    let (xr, yr) = ranges(series, hlines);
    let root = SVGBackend::new(path, (760, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xr.clone(), yr)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(xdesc)
        .y_desc(ydesc)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let mut k = 0;
    for (name, pts) in series.iter().filter(|s| !s.1.is_empty()) {
        let c = COLORS[k % COLORS.len()];
        k += 1;
        chart
            .draw_series(LineSeries::new(pts.iter().cloned(), c.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        if pts.len() <= 40 {
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    for (name, y) in hlines {
        let c = COLORS[k % COLORS.len()];
        k += 1;
        chart
            .draw_series(LineSeries::new(
                vec![(xr.start, *y), (xr.end, *y)],
                c.stroke_width(1),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(true)
}

fn points(rows: &Value, x: &str, y: &str) -> Vec<(f64, f64)> {
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r[x].as_f64()?, r[y].as_f64()?)))
        .collect()
}

fn plot_positions(path: &Path, engine: &Value, peers: &Value, bw: &Value) -> Result<bool, String> {
    let series = vec![
        (
            "this engine, median".to_string(),
            points(&engine["decoder_step"], "position", "median_ms"),
        ),
        (
            "this engine, p90".to_string(),
            points(&engine["decoder_step"], "position", "p90_ms"),
        ),
    ];
    let mut hl = Vec::new();
    for (name, v) in [
        ("this engine, derived", &engine["per_step_derived_ms"]),
        ("GenAI, derived", &peers["genai"]["per_step_derived_ms"]),
        ("PyTorch, derived", &peers["torch"]["per_step_derived_ms"]),
        ("memory-bandwidth bound", &bw["bound_ms_per_step"]),
    ] {
        if let Some(y) = v.as_f64() {
            hl.push((name.to_string(), y));
        }
    }
    if series.iter().all(|s| s.1.is_empty()) {
        return Ok(false);
    }
    line_chart(
        path,
        "Decoder step latency by position",
        "decoder position (steps already run)",
        "ms",
        &series,
        &hl,
    )
}

fn plot_rtf(path: &Path, engine: &Value) -> Result<bool, String> {
    let series = vec![
        (
            "SpeechT5".to_string(),
            points(&engine["utterances"], "chars", "rtf"),
        ),
        (
            "Piper".to_string(),
            points(&engine["piper"]["utterances"], "chars", "rtf"),
        ),
    ];
    line_chart(
        path,
        "Real-time factor vs input length",
        "input characters",
        "RTF",
        &series,
        &[],
    )
}

fn plot_throughput(path: &Path, load: &Value, piper: &Value) -> Result<bool, String> {
    let series = vec![
        (
            "SpeechT5".to_string(),
            points(&load["sweep"], "concurrency", "throughput_audio_s_per_s"),
        ),
        (
            "Piper".to_string(),
            points(&piper["sweep"], "concurrency", "throughput_audio_s_per_s"),
        ),
    ];
    line_chart(
        path,
        "Throughput (audio seconds per second) vs concurrency",
        "concurrent requests",
        "audio s / s",
        &series,
        &[],
    )
}

/// Empirical CDF of request latency, one line per concurrency level.
fn plot_cdf(path: &Path, title: &str, load: &Value) -> Result<bool, String> {
    let series: Vec<Series> = load["sweep"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let mut l: Vec<f64> = r["latencies_ms"]
                .as_array()?
                .iter()
                .filter_map(|x| x.as_f64())
                .collect();
            if l.is_empty() {
                return None;
            }
            l.sort_by(|a, b| a.total_cmp(b));
            let n = l.len() as f64;
            let pts = l
                .iter()
                .enumerate()
                .map(|(i, x)| (*x, (i + 1) as f64 / n))
                .collect();
            Some((format!("concurrency {}", s(&r["concurrency"])), pts))
        })
        .collect();
    line_chart(
        path,
        title,
        "latency (ms)",
        "fraction of requests",
        &series,
        &[],
    )
}

// ---------- machine ----------

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let cores = std::thread::available_parallelism().map(|n| n.get()).ok();
    let mem_gb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let l = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: f64 = l.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024.0 / 1e9)
    });
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(repo_root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).map(|c| {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        if dirty {
            format!("{c} (with uncommitted changes)")
        } else {
            c
        }
    });
    json!({"cpu": cpu, "cores": cores, "memory_gb": mem_gb, "date": utc_now(), "commit": commit})
}

/// "YYYY-MM-DD HH:MM" in UTC (civil-from-days, no date crate).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tts-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn put(dir: &Path, name: &str, v: Value) {
        std::fs::write(dir.join(name), v.to_string()).unwrap();
    }

    fn machine() -> Value {
        json!({"cpu": "Test CPU", "cores": 2, "memory_gb": 8.0, "date": "2025-01-01 00:00", "commit": "abc"})
    }

    #[test]
    fn full_report_has_tables_and_plots() {
        let dir = tmp("full");
        put(
            &dir,
            "piper-paired.json",
            json!({
                "cpu": "Test CPU", "threads": 2, "rounds": 8,
                "peer": {"piper-tts": "1.8.0", "onnxruntime": "1.32.0"},
                "texts": {"short": {"chars": 31,
                    "function_rtf": {"p50": 0.05}, "peer_rtf": {"p50": 0.043},
                    "ratio": {"p10": 1.1, "p50": 1.16, "p90": 1.3}}},
                "stream": {"input_chars": 193, "function_first_byte_ms": {"p50": 80.2, "p90": 87.0},
                           "peer_first_audio_ms": {"p50": 212.0}}
            }),
        );
        put(
            &dir,
            "engine.json",
            json!({
                "config": {"model_dir": "m", "threads": 2, "precision": "bf16", "smoke": false},
                "device": {"cpu": "AMD EPYC 7R13 Processor", "capabilities": ["FP32", "INT8", "BIN", "EXPORT_IMPORT"],
                           "supported": ["f32"], "requested": "bf16", "effective": "f32"},
                "decoder_step": [{"position": 1, "median_ms": 12.0, "p90_ms": 13.0}, {"position": 64, "median_ms": 14.5, "p90_ms": 15.0}],
                "steps": [32, 64], "utterance_ms": [480.0, 1050.0], "per_step_derived_ms": 17.8,
                "encoder": [{"tokens": 100, "median_ms": 95.0}], "postnet_ms": 3.0, "vocoder_ms_per_audio_second": 85.0,
                "text": {"chars": 100, "normalize_ms": 0.01, "tokenize_ms": 0.02},
                "audio_encoders_ms_per_audio_second": {"mp3": 5.0, "opus": 4.0, "flac": 1.0, "wav": 0.1, "pcm": 0.2},
                "utterances": [
                    {"label": "short", "chars": 20, "tokens": 22, "steps": 20, "audio_seconds": 0.64, "median_ms": 400.0, "rtf": 0.625},
                    {"label": "medium", "chars": 100, "tokens": 102, "steps": 90, "audio_seconds": 2.88, "median_ms": 1700.0, "rtf": 0.59},
                    {"label": "long", "chars": 400, "tokens": 402, "steps": 360, "audio_seconds": 11.5, "median_ms": 7000.0, "rtf": 0.61}],
                "piper": {
                    "voice_dir": "/m/piper-joe", "voice": "joe", "sample_rate": 22050, "scales": [0.667, 1.0, 0.8],
                    "espeak": "1.52.0",
                    "phonemize": [{"label": "short", "chars": 20, "sentences": 1, "phonemes": 25, "median_ms": 0.06}],
                    "utterances": [
                        {"label": "short", "chars": 20, "sentences": 1, "phoneme_ids": 50, "audio_seconds": 1.5, "median_ms": 150.0, "rtf": 0.1, "rtf_p90": 0.12},
                        {"label": "long", "chars": 400, "sentences": 1, "phoneme_ids": 900, "audio_seconds": 20.0, "median_ms": 1600.0, "rtf": 0.08, "rtf_p90": 0.09}]
                }
            }),
        );
        put(
            &dir,
            "loadtest.json",
            json!({
                "config": {"threads": 2},
                "cold_start": [
                    {"cache": false, "runs": 3, "median": {"runtime_ms": 10.0, "models_ms": 900.0, "ready_ms": 950.0, "first_audio_byte_ms": 2000.0}},
                    {"cache": true, "runs": 3, "median": {"runtime_ms": 10.0, "models_ms": 300.0, "ready_ms": 350.0, "first_audio_byte_ms": 1400.0}}],
                "sweep": [
                    {"concurrency": 1, "requests": 4, "latency_ms": {"p50": 100.0, "p90": 120.0, "p99": 130.0}, "ttfb_ms": {"p50": 99.0, "p90": 119.0},
                     "rtf_p50": 0.5, "throughput_audio_s_per_s": 2.0, "statuses": {"200": 4}, "latencies_ms": [90.0, 100.0, 110.0, 130.0]},
                    {"concurrency": 4, "requests": 4, "latency_ms": {"p50": 300.0, "p90": 350.0, "p99": 390.0}, "ttfb_ms": {"p50": 299.0, "p90": 349.0},
                     "rtf_p50": 1.5, "throughput_audio_s_per_s": 2.6, "statuses": {"200": 3, "429": 1}, "latencies_ms": [250.0, 300.0, 390.0]}],
                "rss_mb": [{"t_s": 0.0, "rss_mb": 100.0}, {"t_s": 1.0, "rss_mb": 420.5}],
                "stream": {"requests": 8, "input_chars": 194, "listen_seconds": 4.0, "statuses": {"200": 8},
                           "ttfb_ms": {"p50": 1120.0, "p90": 1300.0}, "stall_ms": {"p50": 0.0, "p90": 250.4, "max": 400.0},
                           "stalled_requests": 2, "hung_up": 8, "latency_ms": {"p50": 4900.0, "p90": 5000.0, "p99": 5100.0, "max": 5100.0}}
            }),
        );
        put(
            &dir,
            "loadtest-piper.json",
            json!({
                "config": {"threads": 2, "model_dir": "/m/piper-joe/"},
                "cold_start": [
                    {"cache": false, "runs": 3, "median": {"runtime_ms": 9.0, "models_ms": 2400.0, "ready_ms": 2420.0, "first_audio_byte_ms": 3100.0}},
                    {"cache": true, "runs": 3, "median": {"runtime_ms": 9.0, "models_ms": 520.0, "ready_ms": 540.0, "first_audio_byte_ms": 1200.0}}],
                "sweep": [
                    {"concurrency": 2, "requests": 4, "latency_ms": {"p50": 600.0, "p90": 700.0, "p99": 710.0}, "ttfb_ms": {"p50": 599.0, "p90": 699.0},
                     "rtf_p50": 0.12, "throughput_audio_s_per_s": 9.5, "statuses": {"200": 4}, "latencies_ms": [550.0, 600.0, 650.0, 710.0]}],
                "stream": {"requests": 2, "input_chars": 194, "listen_seconds": 0.0, "statuses": {"200": 2},
                           "ttfb_ms": {"p50": 150.0, "p90": 160.0}, "stall_ms": {"p50": 0.0, "p90": 0.0, "max": 0.0},
                           "stalled_requests": 0, "hung_up": 0, "latency_ms": {"p50": 1500.0, "p90": 1600.0, "p99": 1600.0, "max": 1600.0}}
            }),
        );
        put(
            &dir,
            "peers.json",
            json!({
                "text": "Hello.", "tokens": 8, "steps": [32, 64], "threads": 2, "precision": "f32",
                "genai": {"load_ms": 1500.0, "utterance_ms": [500.0, 1090.0], "per_step_derived_ms": 18.4}, "torch": null
            }),
        );
        put(
            &dir,
            "bandwidth.json",
            json!({
                "gb_per_s": 20.0, "method": "2 threads sum", "decoder_bytes_per_step": 2.04e8, "bound_ms_per_step": 10.2,
                "decoder": {"weight_type": "f32"}
            }),
        );
        run(&dir, &machine()).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        for want in [
            "## Machine",
            "| CPU | Test CPU |",
            "| CPU (OpenVINO) | AMD EPYC 7R13 Processor |",
            "| OpenVINO capabilities | FP32, INT8, BIN, EXPORT_IMPORT |",
            "| precision | f32 (asked for bf16: this CPU does not compute in bf16) |",
            "## Per-step decoder latency",
            "| this engine | f32 | 480 ms | 1050 ms | 17.8 ms | 13.2 ms |",
            "| OpenVINO GenAI | f32 | 500 ms | 1090 ms | 18.4 ms | (not measured) |",
            "| transformers (PyTorch) | f32 | — | — | — (not run) |",
            "| memory-bandwidth bound | f32 | | | | 10.2 ms |",
            "## End-to-end real-time factor",
            "| long | 400 | 402 | 360 | 11.5 s | 7000 ms | 0.610 |",
            "## Cold start",
            "| with cache (warm) | 3 | 10 ms | 300 ms | 350 ms | 1400 ms |",
            "Piper (`m/piper-joe`; the eSpeak NG helper starts before ready):",
            "| without cache | 3 | 9 ms | 2400 ms | 2420 ms | 3100 ms |",
            "| with cache (warm) | 3 | 9 ms | 520 ms | 540 ms | 1200 ms |",
            "| Piper voice | /m/piper-joe |",
            "| long | 400 | 1 | 900 | 20 s | 1600 ms | 0.0800 | 0.0900 |",
            "the voice's default scales noise 0.667, length 1, noise_w 0.800",
            "| short | 20 | 0.625 | 0.100 |",
            "| 2 | 4 | 600 ms | 700 ms | 710 ms | 599 ms | 699 ms | 0.120 | 9.50 | none |",
            "## Piper",
            "| short | 20 | 1 | 25 | 0.0600 ms |",
            "## Piper against piper-tts (paired)",
            "| short | 31 | 0.0500 | 0.0430 | 1.16 | 1.10–1.30 |",
            "first audio byte p50 80.2 ms, p90 87 ms",
            "![Piper latency distribution per concurrency](latency_cdf_piper.svg)",
            "## Concurrency sweep",
            "| 4 | 4 | 300 ms | 350 ms | 390 ms | 299 ms | 349 ms | 1.50 | 2.60 | 429: 1 |",
            "![Latency distribution per concurrency](latency_cdf.svg)",
            "## Streaming: SpeechT5",
            "the client hangs up after 4 s of audio",
            "| 200: 8 | 1120 ms | 1300 ms | 0 ms | 250 ms | 400 ms | 2 | 8 | 4900 ms | 5100 ms |",
            "## Streaming: Piper",
            "Piper (`m/piper-joe`): 2 requests one at a time, each a 194-character input",
            "the client reads each answer to the end",
            "| 200: 2 | 150 ms | 160 ms | 0 ms | 0 ms | 0 ms | 0 | 0 | 1500 ms | 1600 ms |",
        ] {
            assert!(md.contains(want), "report.md lacks {want:?}:\n{md}");
        }
        assert!(!md.contains("missing"), "{md}");
        for svg in [
            "latency_cdf.svg",
            "latency_cdf_piper.svg",
            "decoder_positions.svg",
            "rtf_vs_length.svg",
            "throughput_vs_concurrency.svg",
        ] {
            let text = std::fs::read_to_string(dir.join(svg)).unwrap();
            assert!(
                text.starts_with("<svg") && text.contains("</svg>") && text.contains("<polyline"),
                "{svg}"
            );
        }
        let merged: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(merged["engine"]["steps"], json!([32, 64]));
        assert_eq!(merged["plots"].as_array().unwrap().len(), 5);
        assert_eq!(merged["loadtest_piper"]["cold_start"][1]["cache"], true);
        assert_eq!(merged["engine"]["piper"]["utterances"][1]["rtf"], 0.08);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_inputs_are_named_not_fatal() {
        let dir = tmp("partial");
        put(
            &dir,
            "bandwidth.json",
            json!({"gb_per_s": 7.0, "method": "m", "decoder_bytes_per_step": null, "bound_ms_per_step": null}),
        );
        std::fs::write(dir.join("peers.json"), "{not json").unwrap();
        run(&dir, &machine()).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(md.contains("`engine.json` missing"), "{md}");
        assert!(md.contains("`loadtest.json` missing"), "{md}");
        assert!(md.contains("`loadtest-piper.json` missing"), "{md}");
        assert!(md.contains("Piper: no data"), "{md}");
        assert!(md.contains("`peers.json` is not valid JSON"), "{md}");
        assert!(md.contains("## Concurrency sweep\n\nNo data"), "{md}");
        assert!(
            md.contains("## Streaming: Piper\n\nNo data (loadtest-piper.json missing"),
            "{md}"
        );
        assert!(!dir.join("latency_cdf.svg").exists());
        let merged: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(merged["missing"].as_array().unwrap().len(), 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(num(17.8123, 3), "17.8");
        assert_eq!(num(0.61, 3), "0.610");
        assert_eq!(num(1050.0, 3), "1050");
        assert_eq!(utc_now().len(), 16);
    }
}
