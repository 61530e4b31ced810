//! The soak's mix: which request number `i` of a run is (format, streaming, speed, input, hang-up),
//! drawn from a seeded xorshift by the index alone so any request can be sent again by hand.

use serde::Serialize;
use serde_json::{json, Value};

use crate::SENTENCES;

/// xorshift64* (Vigna), seeded through splitmix64: small, fast and reproducible.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// The generator of request `stream` of a run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // splitmix64 mixes nearby seeds apart; xorshift must not start at 0.
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is negligible for small `n`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How long a request's input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputClass {
    /// The first words of a sentence, about 30 characters.
    Short,
    /// One sentence, about 100 characters.
    Sentence,
    /// Two sentences, about 200 characters.
    Pair,
}

impl InputClass {
    /// The text of this class built from sentence `k` of [`SENTENCES`].
    pub fn text(self, k: usize) -> String {
        let first = SENTENCES[k % SENTENCES.len()];
        match self {
            InputClass::Short => {
                let mut out = String::new();
                for word in first.split_whitespace() {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(word.trim_end_matches([',', '.']));
                    if out.len() >= 28 {
                        break;
                    }
                }
                out + "."
            }
            InputClass::Sentence => first.to_owned(),
            InputClass::Pair => format!("{first} {}", SENTENCES[(k + 1) % SENTENCES.len()]),
        }
    }
}

/// The slowest `speed` the mix draws (0.5–2.0 for 30% of requests): the longest audio, so the
/// largest shapes, of an input.
pub const SLOWEST: f64 = 0.5;

/// When a request means to hang up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HangUpPlan {
    /// Close the connection this long after sending, whatever has arrived by then (a non-streamed
    /// answer under load has not sent its headers yet).
    Timer { after_ms: u64 },
    /// Close it once the first bytes of a streamed 200 body arrived.
    AfterFirstBytes,
}

/// One request of the mix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spec {
    pub index: usize,
    pub format: &'static str,
    /// `stream_format`, if any.
    pub stream: Option<&'static str>,
    pub speed: Option<f64>,
    pub class: InputClass,
    pub input: String,
    pub hang_up: Option<HangUpPlan>,
}

impl Spec {
    /// Request `index` of a run seeded with `seed`, drawn from `formats` and `classes`
    /// (neither empty); `hang_up_fraction` of requests hang up early.
    pub fn pick(
        seed: u64,
        index: usize,
        formats: &[&'static str],
        classes: &[InputClass],
        hang_up_fraction: f64,
    ) -> Spec {
        let mut rng = XorShift::new(seed, index as u64);
        let format = formats[rng.below(formats.len())];
        let h = rng.unit();
        let hang_up = if h < hang_up_fraction / 2.0 {
            Some(HangUpPlan::Timer {
                after_ms: 50 + rng.below(251) as u64,
            })
        } else if h < hang_up_fraction {
            Some(HangUpPlan::AfterFirstBytes)
        } else {
            None
        };
        let stream = match hang_up {
            // Only a stream has first bytes to hang up after.
            Some(HangUpPlan::AfterFirstBytes) => Some(["audio", "sse"][rng.below(2)]),
            _ => [None, None, Some("audio"), Some("sse")][rng.below(4)],
        };
        let speed = (rng.unit() < 0.3).then(|| (50 + rng.below(151)) as f64 / 100.0);
        debug_assert!(speed.is_none_or(|s| s >= SLOWEST));
        let class = classes[rng.below(classes.len())];
        let input = class.text(rng.below(SENTENCES.len()));
        Spec {
            index,
            format,
            stream,
            speed,
            class,
            input,
            hang_up,
        }
    }

    /// The request body (a literal JSON body, as a client writes it).
    pub fn body(&self, model: &str, voice: &str) -> Value {
        let mut body = json!({"model": model, "input": self.input, "voice": voice,
                              "response_format": self.format});
        if let Some(stream) = self.stream {
            body["stream_format"] = stream.into();
        }
        if let Some(speed) = self.speed {
            body["speed"] = speed.into();
        }
        body
    }
}
