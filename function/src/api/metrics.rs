//! CloudWatch metrics in Lambda's own terms: one Embedded Metric Format record (a JSON line on
//! stdout, which Lambda sends to CloudWatch Logs, where it becomes metrics with no agent) per
//! speech request, and one for the start-up. Owns the record's shape and whether records are
//! written; the handlers say what to put in them.
//!
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (`_aws.Timestamp` in epoch milliseconds, `_aws.CloudWatchMetrics` with one directive naming
//! the namespace, the dimension sets and the metrics, and every dimension and metric as a
//! top-level member of the record; dimension values are strings).

use std::io::Write;
use std::sync::Arc;

use serde_json::{json, Map, Value};

/// Whether records are written, and under which namespace.
#[derive(Clone, Debug)]
pub struct Metrics {
    namespace: Option<Arc<str>>,
}

impl Metrics {
    /// Records under `namespace`.
    pub fn emf(namespace: &str) -> Self {
        Self {
            namespace: Some(namespace.into()),
        }
    }

    /// No records.
    pub fn off() -> Self {
        Self { namespace: None }
    }

    /// Whether records are written.
    pub fn enabled(&self) -> bool {
        self.namespace.is_some()
    }

    /// Writes one speech request's record (if enabled).
    pub fn request(&self, record: &RequestRecord) {
        if let Some(namespace) = &self.namespace {
            write_line(&record.to_emf(namespace, now_ms()));
        }
    }

    /// Writes the start-up record (if enabled): each phase in milliseconds.
    pub fn init(&self, phases: &[(&str, f64)], models: &[(String, f64)]) {
        if let Some(namespace) = &self.namespace {
            write_line(&init_emf(namespace, now_ms(), phases, models));
        }
    }
}

/// What one speech request did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestRecord {
    /// The served model's id (`-` when the request named none that exists).
    pub model: String,
    /// The response format (`-` when unknown).
    pub format: String,
    /// HTTP status sent.
    pub status: u16,
    /// Whether the audio was streamed (`stream_format` with a streaming invoke mode).
    pub streamed: bool,
    /// The client went away before the end (streams only).
    pub cancelled: bool,
    /// Request received → last byte handed to the runtime, milliseconds.
    pub latency_ms: f64,
    /// Request received → first audio byte, milliseconds (success only).
    pub first_byte_ms: Option<f64>,
    /// Seconds of audio delivered (success only).
    pub audio_seconds: Option<f64>,
    /// Characters of `input`, when it was read.
    pub input_chars: Option<usize>,
}

impl RequestRecord {
    /// The EMF record, stamped `timestamp_ms`.
    pub fn to_emf(&self, namespace: &str, timestamp_ms: u64) -> Value {
        let mut metrics: Vec<(&str, &str, f64)> = vec![
            ("Requests", "Count", 1.0),
            ("Latency", "Milliseconds", self.latency_ms),
            (
                "ServerErrors",
                "Count",
                f64::from(u8::from(self.status >= 500)),
            ),
            (
                "ClientErrors",
                "Count",
                f64::from(u8::from((400..500).contains(&self.status))),
            ),
        ];
        if let Some(ms) = self.first_byte_ms {
            metrics.push(("TimeToFirstAudioByte", "Milliseconds", ms));
        }
        if let Some(seconds) = self.audio_seconds {
            metrics.push(("AudioSeconds", "Seconds", seconds));
            // The real-time factor of what was delivered: synthesis (wall) time per audio second.
            if seconds > 0.0 && !self.cancelled {
                metrics.push(("RealTimeFactor", "None", self.latency_ms / 1e3 / seconds));
            }
        }
        if let Some(chars) = self.input_chars {
            metrics.push(("InputCharacters", "Count", chars as f64));
        }
        let mut record = Map::new();
        record.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Model", "Format"], ["Model"], []],
                    "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
                }],
            }),
        );
        record.insert("Model".into(), json!(self.model));
        record.insert("Format".into(), json!(self.format));
        for (name, _, value) in &metrics {
            record.insert((*name).into(), json!(value));
        }
        // Properties: searchable in Logs Insights, not metrics.
        record.insert("Status".into(), json!(self.status));
        record.insert("Streamed".into(), json!(self.streamed));
        record.insert("Cancelled".into(), json!(self.cancelled));
        Value::Object(record)
    }
}

/// The start-up record: `phases` (e.g. runtime, espeak, models, total) as `Init<Phase>Ms`
/// metrics, each model's load under the `Model` dimension as `ModelLoadMs`.
fn init_emf(
    namespace: &str,
    timestamp_ms: u64,
    phases: &[(&str, f64)],
    models: &[(String, f64)],
) -> Value {
    let mut record = Map::new();
    let names: Vec<String> = phases.iter().map(|(p, _)| format!("Init{p}Ms")).collect();
    record.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": names.iter().map(|n| json!({"Name": n, "Unit": "Milliseconds"})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, (_, ms)) in names.iter().zip(phases) {
        record.insert(name.clone(), json!(ms));
    }
    record.insert(
        "ModelLoadMs".into(),
        Value::Object(
            models
                .iter()
                .map(|(id, ms)| (id.clone(), json!(ms)))
                .collect(),
        ),
    );
    Value::Object(record)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One line on stdout, written whole (the lock keeps concurrent requests' lines apart).
fn write_line(value: &Value) {
    let mut line = value.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            model: "piper-joe".into(),
            format: "mp3".into(),
            status: 200,
            streamed: true,
            cancelled: false,
            latency_ms: 500.0,
            first_byte_ms: Some(120.0),
            audio_seconds: Some(2.5),
            input_chars: Some(40),
        }
    }

    /// The specification's rules, checked on a record.
    fn assert_valid_emf(v: &Value) {
        let aws = &v["_aws"];
        assert!(aws["Timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000 || t == 1));
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 1);
        for d in directives {
            let ns = d["Namespace"].as_str().expect("namespace");
            assert!(!ns.is_empty() && ns.len() <= 1024);
            for set in d["Dimensions"].as_array().expect("dimension sets") {
                let set = set.as_array().expect("a set");
                assert!(set.len() <= 30);
                for dim in set {
                    let name = dim.as_str().expect("dimension name");
                    assert!(
                        v[name].is_string(),
                        "dimension {name} must be a string member"
                    );
                }
            }
            let metrics = d["Metrics"].as_array().expect("metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().expect("metric name");
                assert!(v[name].is_number(), "metric {name} must be a number member");
                let unit = m["Unit"].as_str().expect("unit");
                assert!(["Count", "Milliseconds", "Seconds", "None"].contains(&unit));
            }
        }
    }

    #[test]
    fn a_streamed_request_gives_a_valid_record_with_every_figure() {
        let v = record().to_emf("TTS", 1);
        assert_valid_emf(&v);
        assert_eq!(v["Model"], "piper-joe");
        assert_eq!(v["Format"], "mp3");
        assert_eq!(v["Latency"], 500.0);
        assert_eq!(v["TimeToFirstAudioByte"], 120.0);
        assert_eq!(v["AudioSeconds"], 2.5);
        assert_eq!(v["RealTimeFactor"], 0.2);
        assert_eq!(v["ServerErrors"], 0.0);
        assert_eq!(v["Status"], 200);
        assert_eq!(v["Streamed"], true);
    }

    #[test]
    fn an_error_declares_only_the_metrics_it_has() {
        let r = RequestRecord {
            model: "-".into(),
            format: "-".into(),
            status: 400,
            latency_ms: 1.0,
            ..RequestRecord::default()
        };
        let v = r.to_emf("TTS", 1);
        assert_valid_emf(&v);
        assert_eq!(v["ClientErrors"], 1.0);
        assert!(v.get("RealTimeFactor").is_none() && v.get("AudioSeconds").is_none());
    }

    #[test]
    fn a_cancelled_stream_has_no_real_time_factor() {
        let r = RequestRecord {
            cancelled: true,
            ..record()
        };
        let v = r.to_emf("TTS", 1);
        assert_valid_emf(&v);
        assert!(v.get("RealTimeFactor").is_none());
        assert_eq!(v["Cancelled"], true);
    }

    #[test]
    fn the_init_record_names_each_phase_and_model() {
        let v = init_emf(
            "TTS",
            1,
            &[("Runtime", 10.0), ("Total", 600.0)],
            &[("piper-joe".into(), 550.0)],
        );
        assert_valid_emf(&v);
        assert_eq!(v["InitRuntimeMs"], 10.0);
        assert_eq!(v["ModelLoadMs"]["piper-joe"], 550.0);
    }
}
