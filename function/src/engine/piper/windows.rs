//! Where the decoder stage's windows fall on a latent of `frames` frames: overlapping windows of a
//! few fixed sizes, each keeping the frames its context makes exact, so the joined output equals a
//! decode of the whole latent. Pure arithmetic; owns nothing of OpenVINO.
//!
//! The HiFi-GAN generator is convolutions only, so a frame of audio depends on a bounded run of
//! latent frames around it (its receptive field, [`CONTEXT`]). A window decodes `size` latent
//! frames from `start` and keeps the output of `keep`: at least `CONTEXT` frames inside each edge
//! that is not an edge of the whole latent, where the window's zero padding would differ from the
//! neighbouring frames. Windows have one of a few static sizes ([`SIZES`]): the first of a stream
//! is small (the first audio waits for it alone), the others the largest that fits, and the last
//! one is the smallest that covers the rest, aligned to the end of the latent.

use std::ops::Range;

/// Latent frames on each side of a frame that its audio depends on. Measured on
/// the joe voice: changing latent frame k changes the audio from 9.8 frames before it to 10.7
/// frames after it (by more than 1e-7); windows joined with 10 frames of context differed from
/// the whole decode by 5.4e-7, with 11 by 2.2e-7 (float rounding), with 8 by 4.5e-4.
pub const CONTEXT: usize = 11;

/// One window of the decoder stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The latent frames decoded.
    pub input: Range<usize>,
    /// The frames of the latent whose audio this window delivers (within `input`).
    pub keep: Range<usize>,
}

impl Window {
    /// The kept frames, relative to the window's first decoded frame.
    pub fn keep_in_window(&self) -> Range<usize> {
        self.keep.start - self.input.start..self.keep.end - self.input.start
    }
}

/// The window sizes the decoder is compiled for, in latent frames (context included), ascending:
/// each has a model of its own with that static shape (see `stages`). Measured on the joe voice
/// (Intel Xeon, 2 threads): a window shape that changes from one inference to the next costs 73%
/// more per frame than one that repeats (OpenVINO prepares every node again), so every window but
/// a very short sentence's only one has one of these sizes.
pub const SIZES: [usize; 3] = [32, 64, 128];

/// Where the first window's size is capped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSizes {
    /// The first window is the largest of [`SIZES`] no larger than this (a stream's first audio
    /// waits for it alone).
    pub first: usize,
}

impl WindowSizes {
    /// A first window of at most `first` frames.
    pub const fn first(first: usize) -> Self {
        Self { first }
    }
}

/// The windows covering `frames` latent frames with windows of `sizes` (ascending; each larger
/// than twice [`CONTEXT`]), in order; their `keep` ranges join to `0..frames`. A latent no
/// longer than the smallest size is decoded in one window of its own length.
pub fn plan(frames: usize, first: WindowSizes, sizes: &[usize]) -> Vec<Window> {
    let Some(&smallest) = sizes.first() else {
        return vec![Window {
            input: 0..frames,
            keep: 0..frames,
        }];
    };
    if frames == 0 {
        return Vec::new();
    }
    if frames <= smallest {
        return vec![Window {
            input: 0..frames,
            keep: 0..frames,
        }];
    }
    let mut windows = Vec::new();
    let mut done: usize = 0;
    loop {
        let start = done.saturating_sub(CONTEXT);
        let span = frames - start;
        // The last window: the smallest size that covers the rest, aligned to the latent's end
        // (more left context than needed, never less).
        if let Some(&size) = sizes.iter().find(|&&s| s >= span && s <= frames) {
            windows.push(Window {
                input: frames - size..frames,
                keep: done..frames,
            });
            return windows;
        }
        let cap = if done == 0 { first.first } else { usize::MAX };
        let size = sizes
            .iter()
            .rev()
            .copied()
            .find(|&s| s <= frames && s <= cap)
            .unwrap_or(smallest);
        windows.push(Window {
            input: start..start + size,
            keep: done..start + size - CONTEXT,
        });
        done = start + size - CONTEXT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(frames: usize, first: WindowSizes) {
        let windows = plan(frames, first, &SIZES);
        let mut at = 0;
        for (i, w) in windows.iter().enumerate() {
            assert_eq!(w.keep.start, at, "{frames} {windows:?}");
            assert!(w.input.start <= w.keep.start && w.keep.end <= w.input.end);
            assert!(w.input.end <= frames && !w.keep.is_empty());
            // Context inside every edge that is not the latent's own.
            assert!(w.input.start == 0 || w.keep.start - w.input.start >= CONTEXT);
            assert!(w.input.end == frames || w.input.end - w.keep.end >= CONTEXT);
            // Static sizes, unless the whole latent is one short window.
            if frames > SIZES[0] {
                assert!(SIZES.contains(&w.input.len()), "{frames} {windows:?}");
            }
            if i == 0 && windows.len() > 1 {
                assert!(
                    w.input.len() <= first.first.max(SIZES[0]),
                    "{frames} {windows:?}"
                );
            }
            at = w.keep.end;
        }
        assert_eq!(at, frames);
    }

    #[test]
    fn windows_join_to_the_whole_latent_with_context_at_inner_edges() {
        for first in [
            WindowSizes::first(32),
            WindowSizes::first(128),
            WindowSizes::first(1),
        ] {
            for frames in 0..1500 {
                check(frames, first);
            }
        }
    }

    #[test]
    fn a_short_latent_is_one_window_and_a_stream_starts_small() {
        assert_eq!(
            plan(30, WindowSizes::first(32), &SIZES),
            vec![Window {
                input: 0..30,
                keep: 0..30
            }]
        );
        let c = CONTEXT;
        let windows = plan(400, WindowSizes::first(32), &SIZES);
        assert_eq!(windows[0].input, 0..32);
        assert_eq!(windows[0].keep, 0..32 - c);
        assert_eq!(windows[1].input, 32 - 2 * c..32 - 2 * c + 128);
        assert_eq!(windows[1].keep, 32 - c..128 + 32 - 3 * c);
        assert_eq!(windows[1].keep_in_window(), c..128 - c);
        assert_eq!(windows.last().unwrap().keep.end, 400);
        // A whole answer starts with the largest window that fits.
        let windows = plan(100, WindowSizes::first(128), &SIZES);
        assert_eq!(windows[0].input, 0..64);
        assert_eq!(windows.last().unwrap().input, 36..100);
    }
}
