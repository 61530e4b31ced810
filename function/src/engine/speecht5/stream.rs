//! Incremental SpeechT5 synthesis: audio leaves the engine while the decoder still runs.
//!
//! Every few decoder steps the postnet and HiFi-GAN run on a *window* of the raw spectrogram:
//! the frames not yet emitted, plus left context (frames already emitted) and right context
//! (the newest frames, emitted next time). Both models are stacks of convolutions (HiFi-GAN also
//! upsamples by a fixed hop per frame) with zero padding at the ends, so they have a finite
//! receptive field: a sample whose frame lies far enough inside the window equals the
//! whole-utterance computation. Only that final centre region is emitted; the last chunk, cut
//! after the loop ends, needs no right context because the utterance ends there too. The joined
//! chunks are then the whole-utterance waveform, sample for sample up to float rounding (no
//! clicks at joins, identical length). See [`StreamPlan`] for the window sizes and how they
//! were measured.

use std::time::Instant;

use super::{DecoderSession, SpeechT5, Steps, StopReason, StopRule};
use crate::engine::{EngineError, Stop, Streamed, Timings};

/// How a streamed utterance is cut, in decoder steps (one step is `reduction_factor` mel frames,
/// 2 × 256 = 512 samples, 32 ms of audio for SpeechT5).
///
/// **Contexts.** The postnet and HiFi-GAN have a finite receptive field. Measured by streaming 64
/// forced steps with a chunk every 8 steps and one context varied (the other at 32), max abs
/// difference from the whole waveform:
///
/// | context (steps) | 0 | 4 | 6 | 8 | 10 | 12 | 16 |
/// |---|---|---|---|---|---|---|---|
/// | tiny export, right | 0.49 | 1.4e-2 | 2.4e-7 | 2.4e-7 | 2.4e-7 | 2.4e-7 | 2.1e-7 |
/// | full-size export, right | 0.56 | 0.13 | 2.4e-2 | 7.5e-3 | 5.8e-4 | 7.1e-5 | 6.6e-7 |
/// | full-size export, left | 0.71 | 0.13 | 2.9e-2 | 5.1e-3 | 9.7e-4 | 4.8e-5 | 6.1e-7 |
///
/// The error reaches float rounding at 6 steps on the tiny export and at 16 on the full-size one
/// (random weights: trained ones may have heavier tails). Counting the full-size architecture's
/// field bounds it: postnet 5 convolutions of kernel 5 (±10 frames); HiFi-GAN's `conv_pre`
/// (kernel 7, ±3 frames), four ×4 transposed convolutions (kernel 8, ~±1 input sample each) and
/// after each a residual stack whose widest branch (kernel 11, dilations 1/3/5, each followed by
/// a kernel-11 convolution) reaches ±60 samples at that rate: ±15, ±3.75, ±0.94, ±0.23 frames.
/// In all ≈ ±34.3 frames = 17.2 steps, so with `left` = `right` = 18 every emitted sample's
/// whole field lies inside its window whatever the weights, and a join is exact up to float
/// rounding ([`StreamPlan::exact`]; measured over 200 forced steps: 1.2e-6 on the full-size
/// export, 4e-7 on the tiny one; `measure_default_plan_error`).
///
/// **Start-up.** Waiting for 18 steps of right context before the first chunk costs ~0.4 s on
/// the full-size export in f32 (encoder ~80 ms, ~15 ms a step). So the default plan cuts the
/// first chunk after `first` = 6 steps with `first_right` = 3 steps of right context (3 steps,
/// 96 ms, of audio) and widens both contexts by `ramp` = 1 step at every later cut until they
/// reach 18; from then on chunks are exact. The audio of the start-up chunks is approximate
/// near their ends (the table's error for the context used), and every join is cross-faded:
/// each chunk computes `fade` samples past its end that are not sent, and the next chunk fades
/// from them into its own samples over that span, so a join is continuous even where the two
/// windows disagree. Where they agree (every exact join) the fade changes nothing beyond float
/// rounding. The joined length is always the whole utterance's.
///
/// **Cuts.** After the first, every `every` = 8 steps while the contexts widen, then at
/// intervals growing by a quarter up to `max_every` = 128: each window recomputes up to 36
/// steps of context, which the longer intervals spread over more new audio, while the audio
/// already sent stays ahead of the next cut when a decoder step (plus its share of the
/// vocoder) takes less than its 32 ms of audio. On the full-size export in f32 (~15–17 ms a
/// step, HiFi-GAN ~2.7 ms a step) that margin is thin: the first second of a stream may run
/// dry for a few tens of milliseconds on a busy machine (`loadtest run --stream-format audio`
/// reports it as `stall_ms`); int8 weights (~8 ms a step) leave room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamPlan {
    /// Decoder steps before the first chunk is cut (it holds `first - first_right` steps).
    pub first: usize,
    /// Right (and left) context of the first chunk, in steps.
    pub first_right: usize,
    /// Steps added to both contexts at every later cut, until they reach `left` / `right`.
    pub ramp: usize,
    /// Decoder steps from the first cut to the second, and between cuts while contexts widen.
    pub every: usize,
    /// The longest interval between cuts (intervals grow once the contexts are full).
    pub max_every: usize,
    /// Full left context: steps of already-emitted spectrogram given to a window.
    pub left: usize,
    /// Full right context: newest steps held back from a window's audio (sent next time).
    pub right: usize,
    /// Samples over which each join is cross-faded (0: butt joins).
    pub fade: usize,
}

impl Default for StreamPlan {
    fn default() -> Self {
        Self {
            first: 6,
            first_right: 3,
            ramp: 1,
            every: 8,
            max_every: 128,
            left: 18,
            right: 18,
            fade: 256,
        }
    }
}

impl StreamPlan {
    /// Full contexts from the first chunk on: the joined chunks equal the whole-utterance
    /// waveform up to float rounding, at the price of a later first chunk (24 steps).
    pub fn exact() -> Self {
        Self {
            first: 24,
            first_right: 18,
            ..Self::default()
        }
    }

    /// The (left, right) contexts of the chunk cut `cut` (0 for the first).
    fn contexts(&self, cut: usize) -> (usize, usize) {
        let widened = self
            .first_right
            .saturating_add(self.ramp.saturating_mul(cut));
        (widened.min(self.left), widened.min(self.right))
    }

    /// Whether the contexts of chunk `cut` are full.
    fn full(&self, cut: usize) -> bool {
        self.contexts(cut) == (self.left, self.right)
    }
}

/// What the streaming loop tells its observer.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// A decoder step finished; the decoder has now run this many steps.
    Step(usize),
    /// A chunk of final audio, cut when the decoder had run `steps` steps.
    Chunk {
        /// Samples, to be appended to the previous chunks.
        samples: &'a [f32],
        /// Decoder steps run when the chunk was cut.
        steps: usize,
    },
}

/// One streamed utterance's SpeechT5-specific outcome.
#[derive(Clone, Debug)]
pub struct Streaming {
    /// Samples emitted, input tokens, timings (postnet and vocoder summed over the windows).
    pub streamed: Streamed,
    /// Decoder steps run.
    pub steps: usize,
    /// Why the loop stopped.
    pub stop: StopReason,
    /// Decoder steps run when each chunk was cut, in order.
    pub chunk_steps: Vec<usize>,
}

impl SpeechT5 {
    /// Synthesizes from token ids as [`Self::generate_ids`] does, handing final audio to
    /// `observe` as [`StreamEvent::Chunk`]s cut by `plan` while the decoder runs (and a
    /// [`StreamEvent::Step`] after every decoder step). `stop` is checked before every step:
    /// once set, the call returns [`EngineError::Stopped`] without running another step, and
    /// the slot goes back to the pool.
    pub fn stream_ids(
        &self,
        ids: &[i64],
        speaker: &[f32],
        steps: Steps,
        plan: StreamPlan,
        stop: &Stop,
        observe: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<Streaming, EngineError> {
        let started = Instant::now();
        if stop.is_set() {
            return Err(EngineError::Stopped);
        }
        let mut session = self.decoder_session(ids, speaker)?;
        let mut timings = Timings {
            encoder: session.encoder_time(),
            ..Timings::default()
        };
        let rule = StopRule::new(steps, session.encoder_tokens(), &self.config);
        let mut cutter = Cutter::new(plan);
        let mut next_cut = plan.first.max(1);
        let mut interval = plan.every.max(1);
        let reason = loop {
            if stop.is_set() {
                return Err(EngineError::Stopped);
            }
            timings.decoder_steps.push(session.step()?);
            let position = session.position();
            observe(StreamEvent::Step(position));
            if let Some(reason) = rule.check(&session)? {
                break reason;
            }
            if position >= next_cut {
                let (_, right) = plan.contexts(cutter.cuts());
                let end = position.saturating_sub(right);
                cutter.cut(&mut session, end, &mut timings, observe)?;
                next_cut = position + interval;
                if plan.full(cutter.cuts()) {
                    interval = (interval + interval.div_ceil(4)).min(plan.max_every.max(1));
                }
            }
        };
        let position = session.position();
        cutter.cut(&mut session, position, &mut timings, observe)?;
        drop(session);
        timings.total = started.elapsed();
        Ok(Streaming {
            streamed: Streamed {
                samples: cutter.samples,
                input_tokens: ids.len(),
                output_tokens: position,
                timings,
            },
            steps: position,
            stop: reason,
            chunk_steps: cutter.chunk_steps,
        })
    }
}

/// Cuts chunks of final audio out of windows of the spectrogram and cross-fades their joins.
struct Cutter {
    plan: StreamPlan,
    /// Steps whose audio has been emitted.
    emitted: usize,
    /// Samples emitted.
    samples: usize,
    /// The last window's samples just past its chunk (`plan.fade` of them at most): the next
    /// chunk fades from these into its own.
    held: Vec<f32>,
    chunk_steps: Vec<usize>,
}

impl Cutter {
    fn new(plan: StreamPlan) -> Self {
        Self {
            plan,
            emitted: 0,
            samples: 0,
            held: Vec::with_capacity(plan.fade),
            chunk_steps: Vec::new(),
        }
    }

    /// Chunks cut so far.
    fn cuts(&self) -> usize {
        self.chunk_steps.len()
    }

    /// Emits the audio of steps `emitted..end`, from a window reaching the current cut's left
    /// context before them and every step run so far after them.
    fn cut(
        &mut self,
        session: &mut DecoderSession<'_>,
        end: usize,
        timings: &mut Timings,
        observe: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<(), EngineError> {
        if end <= self.emitted {
            return Ok(());
        }
        let position = session.position();
        let (left, _) = self.plan.contexts(self.cuts());
        let start = self.emitted.saturating_sub(left);
        timings.postnet += session.postnet_window(start..position)?;
        timings.vocoder += session.vocoder()?;
        let frames = (position - start) * session.reduction_factor;
        let reduction_factor = session.reduction_factor;
        let (skip, take) = (self.emitted - start, end - self.emitted);
        let fade = self.plan.fade;
        let held = &mut self.held;
        let emitted = session.with_waveform_mut(|waveform| {
            if frames == 0 || waveform.len() % frames != 0 {
                return Err(EngineError::Output {
                    stage: "vocoder",
                    reason: format!(
                        "{} samples for {frames} frames: not a whole hop per frame",
                        waveform.len()
                    ),
                });
            }
            let per_step = waveform.len() / frames * reduction_factor;
            let (from, to) = (skip * per_step, (skip + take) * per_step);
            let chunk = &mut waveform[from..to];
            cross_fade(held, chunk);
            held.clear();
            held.extend_from_slice(&waveform[to..(to + fade).min(waveform.len())]);
            let chunk = &waveform[from..to];
            observe(StreamEvent::Chunk {
                samples: chunk,
                steps: position,
            });
            Ok(chunk.len())
        })??;
        self.samples += emitted;
        self.emitted = end;
        self.chunk_steps.push(position);
        Ok(())
    }
}

/// Fades from `from` (the previous window's samples for the same span) into the start of
/// `into`, in place, with raised-cosine weights over the shorter of the two.
fn cross_fade(from: &[f32], into: &mut [f32]) {
    let n = from.len().min(into.len());
    for (i, (old, new)) in from.iter().zip(into.iter_mut()).take(n).enumerate() {
        let w = 0.5 - 0.5 * (std::f32::consts::PI * (i as f32 + 0.5) / n as f32).cos();
        *new = old + (*new - old) * w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cross_fade_starts_at_the_old_samples_and_ends_at_the_new() {
        let old = vec![1.0f32; 8];
        let mut new = vec![0.0f32; 12];
        cross_fade(&old, &mut new);
        assert!(new[0] > 0.95 && new[7] < 0.05, "{new:?}");
        assert!(new.windows(2).take(8).all(|w| w[1] <= w[0]), "{new:?}");
        assert_eq!(&new[8..], &[0.0; 4]);
        // Equal samples stay equal: an exact join is not changed.
        let mut same = vec![0.25f32; 8];
        cross_fade(&[0.25; 8], &mut same);
        assert!(same.iter().all(|&v| (v - 0.25).abs() < 1e-7));
    }

    #[test]
    fn contexts_widen_from_the_first_chunk_to_the_full_field() {
        let plan = StreamPlan::default();
        assert_eq!(plan.contexts(0), (3, 3));
        assert_eq!(plan.contexts(1), (4, 4));
        assert_eq!(plan.contexts(15), (18, 18));
        assert_eq!(plan.contexts(100), (18, 18));
        assert!(!plan.full(14) && plan.full(15));
        let exact = StreamPlan::exact();
        assert_eq!(exact.contexts(0), (18, 18));
        assert!(exact.full(0));
    }
}
