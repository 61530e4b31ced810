//! Memory read bandwidth of this machine, and the decoder's memory-bandwidth bound per step.
//!
//! Bandwidth: N threads each sum their share of one large f32 buffer (≥ 1 GiB by default, far
//! beyond the caches), best of several passes; bytes read / wall time of the pass.
//!
//! Bytes per decoder step, from a SpeechT5 export folder: the size of
//! `openvino_decoder_model.bin` minus what a step after the first does not read:
//! - the cross-attention K and V projections (they run once, at step 1, on the encoder output):
//!   `decoder_layers × 2 × (hidden² × bytes-per-weight + hidden × 4 bias)` from `config.json`,
//!   plus per-channel scale and zero point for int8 exports;
//! - the speech positional-encoding table (`max_speech_positions × hidden` f32), of which a step
//!   gathers one row.
//!
//! The weight type (f32, f16, u8/i8, …) is read from the IR's cross-attention K weight. The
//! bound is bytes / bandwidth: no decoder step can be faster on this machine.
//!
//! Writes `bandwidth.json` (`--out`, default `$TTS_BENCH_OUT/bandwidth.json`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Memory read bandwidth and the SpeechT5 decoder's per-step bound")]
struct Args {
    /// SpeechT5 export folder (openvino_decoder_model.{xml,bin}, config.json)
    #[arg(long, env = "TTS_BENCH_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Reader threads (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
    /// Buffer size in MiB
    #[arg(long, default_value_t = 1024)]
    mib: usize,
    /// Timed passes (the best counts)
    #[arg(long, default_value_t = 7)]
    passes: usize,
    /// Output file (default: $TTS_BENCH_OUT/bandwidth.json)
    #[arg(long)]
    out: Option<PathBuf>,
}

fn default_out_dir() -> PathBuf {
    std::env::var_os("TTS_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-report"))
}

/// Sums a slice with 16 independent accumulators (vectorizes; no float reassociation needed).
fn sum(chunk: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut it = chunk.chunks_exact(16);
    for c in &mut it {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
}

/// One pass: every thread sums its share; returns the seconds of the whole pass.
fn pass(buf: &[f32], threads: usize) -> f64 {
    let share = buf.len().div_ceil(threads);
    let t = Instant::now();
    let total: f32 = std::thread::scope(|s| {
        let handles: Vec<_> = buf
            .chunks(share)
            .map(|c| s.spawn(move || sum(std::hint::black_box(c))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(total);
    secs
}

fn measure(mib: usize, threads: usize, passes: usize) -> (f64, Vec<f64>, usize) {
    let len = mib * 1024 * 1024 / 4;
    let mut buf = vec![0f32; len];
    // Touch every page from the threads that will read it (first-touch placement).
    let share = len.div_ceil(threads);
    std::thread::scope(|s| {
        for (k, c) in buf.chunks_mut(share).enumerate() {
            s.spawn(move || {
                for (i, x) in c.iter_mut().enumerate() {
                    *x = ((i + k) % 7) as f32;
                }
            });
        }
    });
    pass(&buf, threads); // warm-up
    let bytes = (len * 4) as f64;
    let gbs: Vec<f64> = (0..passes)
        .map(|_| bytes / pass(&buf, threads) / 1e9)
        .collect();
    let best = gbs.iter().cloned().fold(0.0, f64::max);
    (best, gbs, len * 4)
}

/// `element_type` of the first Const layer whose name ends with `suffix` in an IR xml.
fn const_type(xml: &str, suffix: &str) -> Option<String> {
    let at = xml.find(&format!("{suffix}\" type=\"Const\""))?;
    let rest = &xml[at..];
    let et = rest.find("element_type=\"")? + "element_type=\"".len();
    let end = rest[et..].find('"')?;
    Some(rest[et..et + end].to_string())
}

fn type_bytes(t: &str) -> Option<f64> {
    Some(match t {
        "f32" | "i32" | "u32" => 4.0,
        "f16" | "bf16" | "i16" | "u16" => 2.0,
        "u8" | "i8" | "f8e4m3" | "f8e5m2" => 1.0,
        "u4" | "i4" | "nf4" => 0.5,
        _ => return None,
    })
}

fn decoder_bytes(dir: &Path) -> Result<Value, String> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let config: Value =
        serde_json::from_str(&read("config.json")?).map_err(|e| format!("config.json: {e}"))?;
    let get = |k: &str| {
        config[k]
            .as_u64()
            .ok_or_else(|| format!("config.json has no integer `{k}`"))
    };
    let layers = get("decoder_layers")? as f64;
    let hidden = get("hidden_size")? as f64;
    let positions = get("max_speech_positions").unwrap_or(0) as f64;
    let bin = dir.join("openvino_decoder_model.bin");
    let bin_bytes = std::fs::metadata(&bin)
        .map_err(|e| format!("{}: {e}", bin.display()))?
        .len() as f64;
    let xml = read("openvino_decoder_model.xml")?;
    let kv = "encoder_attn.k_proj.weight";
    let weight_type = const_type(&xml, kv).unwrap_or_else(|| "f32".into());
    let bpw =
        type_bytes(&weight_type).ok_or_else(|| format!("unknown weight type {weight_type}"))?;
    let quantized = bpw < 2.0;
    // Per-output-channel scale and zero point of a compressed weight (types from the IR).
    let side = if quantized {
        let scale = const_type(&xml, &format!("{kv}/scale")).and_then(|t| type_bytes(&t));
        let zp = const_type(&xml, &format!("{kv}/zero_point")).and_then(|t| type_bytes(&t));
        hidden * (scale.unwrap_or(2.0) + zp.unwrap_or(0.0))
    } else {
        0.0
    };
    let cross_kv = layers * 2.0 * (hidden * hidden * bpw + hidden * 4.0 + side);
    let table = positions * hidden * 4.0;
    let per_step = bin_bytes - cross_kv - table;
    Ok(json!({
        "model_dir": dir.display().to_string(),
        "decoder_bin_bytes": bin_bytes,
        "weight_type": weight_type,
        "int8": quantized,
        "cross_attention_kv_bytes": cross_kv,
        "positional_table_bytes": table,
        "bytes_per_step": per_step,
    }))
}

fn main() {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let decoder = match &args.model_dir {
        Some(d) => match decoder_bytes(d) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("bandwidth: {e}");
                std::process::exit(1);
            }
        },
        None => None,
    };
    let (gbs, passes, bytes) = measure(args.mib, threads, args.passes.max(1));
    let per_step = decoder
        .as_ref()
        .map(|d| d["bytes_per_step"].as_f64().unwrap());
    let bound = per_step.map(|b| b / (gbs * 1e9) * 1e3);
    let out = json!({
        "gb_per_s": gbs,
        "method": format!(
            "{threads} threads sum a {} MiB f32 buffer (16 accumulators each), best of {} passes after a warm-up; GB = 1e9 bytes",
            bytes / (1024 * 1024),
            passes.len()
        ),
        "threads": threads,
        "pass_gb_per_s": passes,
        "decoder_bytes_per_step": per_step,
        "bound_ms_per_step": bound,
        "decoder": decoder,
    });
    let path = args
        .out
        .unwrap_or_else(|| default_out_dir().join("bandwidth.json"));
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("create output folder");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap() + "\n")
        .expect("write bandwidth.json");
    match (per_step, bound) {
        (Some(b), Some(ms)) => println!(
            "bandwidth: {gbs:.1} GB/s ({threads} threads); decoder reads {:.1} MB per step => bound {ms:.2} ms/step -> {}",
            b / 1e6,
            path.display()
        ),
        _ => println!("bandwidth: {gbs:.1} GB/s ({threads} threads) -> {}", path.display()),
    }
}
