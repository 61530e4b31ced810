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
/// Contexts (the default's 18 steps each way): the postnet and HiFi-GAN's receptive field.
/// Measured by streaming 64 forced steps with a chunk every 8 steps and one context varied
/// (the other at 32), max abs difference from the whole waveform:
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
/// In all ≈ ±34.3 frames = 17.2 steps, so 18 steps of context leave every emitted sample's whole
/// field inside the window, whatever the weights: the join is exact up to float rounding
/// (measured with this default over 200 forced steps: 1.2e-6 on the full-size export, 4e-7 on
/// the tiny one; `measure_default_plan_error`).
///
/// Cuts: the first after `first` = 24 steps (6 steps, 192 ms, of final audio), the next
/// `every` = 8 steps later, then at doubling intervals up to `max_every` = 128: the audio already
/// sent stays ahead of the next cut as long as a decoder step takes less than ~0.6× its 32 ms of
/// audio, and each window's recomputed context (up to 36 steps) is spread over more new steps as
/// the utterance grows. Measured on the full-size export (f32, 2 threads, 202 characters, 300
/// forced steps, a machine loaded by other work so ~37 ms a step; `measure_time_to_first_chunk`
/// in tests/speecht5_streaming.rs): first chunk after 1.12 s against 11.15 s for the whole
/// utterance; postnet + vocoder 2.34 s streamed against 1.33 s whole, +9% of the utterance's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamPlan {
    /// Decoder steps before the first chunk is cut (it holds `first - right` steps of audio).
    pub first: usize,
    /// Decoder steps from the first cut to the second; each later interval doubles.
    pub every: usize,
    /// The longest interval between cuts.
    pub max_every: usize,
    /// Steps of already-emitted spectrogram given to each window before its new frames.
    pub left: usize,
    /// Newest steps held back as each window's right context (emitted by the next chunk).
    pub right: usize,
}

impl Default for StreamPlan {
    fn default() -> Self {
        Self {
            first: 24,
            every: 8,
            max_every: 128,
            left: 18,
            right: 18,
        }
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
        let mut cutter = Cutter {
            plan,
            emitted: 0,
            samples: 0,
            chunk_steps: Vec::new(),
        };
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
                let end = position.saturating_sub(cutter.plan.right);
                cutter.cut(&mut session, end, &mut timings, observe)?;
                next_cut = position + interval;
                interval = (interval * 2).min(plan.max_every.max(1)).max(1);
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

/// Cuts chunks of final audio out of windows of the spectrogram.
struct Cutter {
    plan: StreamPlan,
    /// Steps whose audio has been emitted.
    emitted: usize,
    /// Samples emitted.
    samples: usize,
    chunk_steps: Vec<usize>,
}

impl Cutter {
    /// Emits the audio of steps `emitted..end`, from a window reaching `left` steps before them
    /// and every step run so far after them.
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
        let start = self.emitted.saturating_sub(self.plan.left);
        timings.postnet += session.postnet_window(start..position)?;
        timings.vocoder += session.vocoder()?;
        let frames = (position - start) * session.reduction_factor;
        let (skip, take) = (self.emitted - start, end - self.emitted);
        let reduction_factor = session.reduction_factor;
        let emitted = session.with_waveform(|waveform| {
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
            let chunk = &waveform[skip * per_step..(skip + take) * per_step];
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
