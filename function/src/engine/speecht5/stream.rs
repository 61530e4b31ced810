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
/// the full-size export in f32 (encoder ~80–100 ms for a 90-character sentence, ~17 ms a step).
/// So the default plan cuts the first chunk after `first` = 6 steps with `first_right` = 3
/// steps of context (3 steps, 96 ms, of audio) and widens both contexts at every later cut, by
/// `ramp` = 1 step while they are under half the full field and by 2 × `ramp` above, until
/// they reach `left` / `right` = 18 (the 12th cut, about 180 steps or 6 s into the utterance);
/// from then on chunks are exact. Start-up chunks are approximate near their ends (the table's
/// error for the context used), and every join is cross-faded: each chunk computes `fade`
/// samples past its end that are not sent, and the next chunk fades from them into its own
/// samples over that span, so a join is continuous even where the two windows disagree. Where
/// they agree (every exact join) the fade changes nothing beyond float rounding. The joined
/// length is always the whole utterance's.
///
/// **Cuts.** Every window recomputes its two contexts, so the interval between cuts follows
/// them: 1.5 × the context (at least `every` = 6 steps) while they widen, then growing by a
/// quarter up to `max_every` = 128. Each chunk's audio then lasts longer than making the next
/// one takes whenever a decoder step plus its share of the vocoder stays under its 32 ms of
/// audio. Modelled with costs measured on the full-size export here (f32: ~17 ms a step,
/// HiFi-GAN ~3.2 ms per window step + 5 ms per window, the encoder 100 ms), a listener starting
/// at the first byte waits ~0.1 s in all for the second and third chunks and never after (int8,
/// ~9 ms a step: ~10–30 ms); the plan before this one (cuts every 8 steps while the contexts
/// widened by one) ran dry for ~0.5 s. `loadtest run --stream-format audio` measures it as
/// `stall_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamPlan {
    /// Decoder steps before the first chunk is cut (it holds `first - first_right` steps).
    pub first: usize,
    /// Context of the first chunk on each side, in steps (capped by `left` / `right`).
    pub first_right: usize,
    /// Steps added to both contexts at every later cut (twice that once they pass half of
    /// `right`), until they reach `left` / `right`. 0 keeps them at `first_right`.
    pub ramp: usize,
    /// The shortest interval between cuts, in decoder steps.
    pub every: usize,
    /// The longest interval between cuts.
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
            every: 6,
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
}

/// A plan's cuts as they happen: the contexts of the next chunk and when to cut after it.
#[derive(Debug)]
struct Schedule {
    plan: StreamPlan,
    /// The next chunk's context before capping at `left` / `right`.
    context: usize,
    /// Steps between the last two cuts once the contexts are full.
    interval: Option<usize>,
}

impl Schedule {
    fn new(plan: StreamPlan) -> Self {
        Self {
            plan,
            context: plan.first_right,
            interval: None,
        }
    }

    /// The next chunk's (left, right) contexts.
    fn contexts(&self) -> (usize, usize) {
        (
            self.context.min(self.plan.left),
            self.context.min(self.plan.right),
        )
    }

    fn full(&self) -> bool {
        self.contexts() == (self.plan.left, self.plan.right)
    }

    /// After a chunk: widens the contexts for the next and returns the steps until its cut.
    fn advance(&mut self) -> usize {
        let plan = &self.plan;
        if !self.full() {
            let half = plan.left.max(plan.right) / 2;
            let widen = if self.context < half {
                plan.ramp
            } else {
                2 * plan.ramp
            };
            self.context = self.context.saturating_add(widen);
        }
        let floor = plan.every.max(1);
        let spread = |context: usize| (context + context.div_ceil(2)).max(floor);
        if !self.full() {
            return spread(self.contexts().1).min(plan.max_every.max(floor));
        }
        let next = match self.interval {
            None => spread(plan.left.max(plan.right)),
            Some(interval) => interval + interval.div_ceil(4),
        }
        .min(plan.max_every.max(floor));
        self.interval = Some(next);
        next
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
    /// The (left, right) contexts each chunk was cut with, in steps (right 0 for the last).
    pub chunk_contexts: Vec<(usize, usize)>,
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
        let mut cutter = Cutter::new(plan.fade);
        let mut schedule = Schedule::new(plan);
        let mut next_cut = plan.first.max(1);
        let mut chunk_contexts = Vec::new();
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
                let (left, right) = schedule.contexts();
                let end = position.saturating_sub(right);
                let interval = if cutter.cut(&mut session, left, end, &mut timings, observe)? {
                    chunk_contexts.push((left, right));
                    schedule.advance()
                } else {
                    plan.every.max(1)
                };
                next_cut = position + interval;
            }
        };
        let position = session.position();
        let (left, _) = schedule.contexts();
        if cutter.cut(&mut session, left, position, &mut timings, observe)? {
            chunk_contexts.push((left, 0));
        }
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
            chunk_contexts,
        })
    }
}

/// Cuts chunks of final audio out of windows of the spectrogram and cross-fades their joins.
struct Cutter {
    /// Samples each join is cross-faded over.
    fade: usize,
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
    fn new(fade: usize) -> Self {
        Self {
            fade,
            emitted: 0,
            samples: 0,
            held: Vec::with_capacity(fade),
            chunk_steps: Vec::new(),
        }
    }

    /// Emits the audio of steps `emitted..end` (if any: returns whether it did), from a window
    /// reaching `left` steps before them and every step run so far after them.
    fn cut(
        &mut self,
        session: &mut DecoderSession<'_>,
        left: usize,
        end: usize,
        timings: &mut Timings,
        observe: &mut dyn FnMut(StreamEvent<'_>),
    ) -> Result<bool, EngineError> {
        if end <= self.emitted {
            return Ok(false);
        }
        let position = session.position();
        let start = self.emitted.saturating_sub(left);
        timings.postnet += session.postnet_window(start..position)?;
        timings.vocoder += session.vocoder()?;
        let frames = (position - start) * session.reduction_factor;
        let reduction_factor = session.reduction_factor;
        let (skip, take) = (self.emitted - start, end - self.emitted);
        let fade = self.fade;
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
        Ok(true)
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

    /// The (position, left, right) of every cut a plan makes over `steps` decoder steps.
    fn cuts(plan: StreamPlan, steps: usize) -> Vec<(usize, usize, usize)> {
        let mut schedule = Schedule::new(plan);
        let (mut at, mut out) = (plan.first, Vec::new());
        while at < steps {
            let (left, right) = schedule.contexts();
            out.push((at, left, right));
            at += schedule.advance();
        }
        out
    }

    #[test]
    fn contexts_widen_from_the_first_chunk_to_the_full_field() {
        let plan = cuts(StreamPlan::default(), 400);
        let firsts: Vec<_> = plan
            .iter()
            .take(8)
            .map(|&(at, _, right)| (at, right))
            .collect();
        assert_eq!(
            firsts,
            [
                (6, 3),
                (12, 4),
                (20, 5),
                (29, 6),
                (40, 7),
                (52, 8),
                (66, 9),
                (83, 11)
            ]
        );
        let full = plan
            .iter()
            .position(|&(_, l, r)| (l, r) == (18, 18))
            .unwrap();
        assert_eq!(plan[full].0, 179);
        // Exact from then on, intervals growing by a quarter up to 128 steps.
        let gaps: Vec<usize> = plan[full..].windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert_eq!(plan[full].0 - plan[full - 1].0, 27);
        assert_eq!(&gaps[..4], &[34, 43, 54, 68]);
        assert!(plan[full..].iter().all(|&(_, l, r)| (l, r) == (18, 18)));
        assert!(gaps.iter().all(|&g| g <= 128));
        // The exact plan is full from its first chunk on.
        let exact = cuts(StreamPlan::exact(), 200);
        assert_eq!(exact[0], (24, 18, 18));
        assert!(exact.iter().all(|&(_, l, r)| (l, r) == (18, 18)));
        // ramp 0 keeps the first contexts.
        let fixed = StreamPlan {
            first_right: 5,
            ramp: 0,
            ..StreamPlan::default()
        };
        assert!(cuts(fixed, 200).iter().all(|&(_, l, r)| (l, r) == (5, 5)));
    }
}
