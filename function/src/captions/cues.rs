//! Captions from word times: words grouped into readable cues, written as WebVTT or SRT.
//!
//! A cue holds the words of one stretch of speech: it ends after a sentence, at a pause, or
//! before it would grow past two lines of [`LINE_CHARS`] characters or [`MAX_SECONDS`]; its text
//! is the input's own text of those words (with the punctuation that ends them), on at most two
//! lines broken at a space.

use super::WordTime;

/// Characters per caption line (the common broadcast guideline).
pub const LINE_CHARS: usize = 42;
/// Longest cue, in seconds.
pub const MAX_SECONDS: f64 = 7.0;
/// A silence between two words at least this long (seconds) starts a new cue.
pub const PAUSE_SECONDS: f64 = 0.5;

/// A caption: its time and its text (one or two lines).
#[derive(Clone, Debug, PartialEq)]
pub struct Cue {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// The lines.
    pub lines: Vec<String>,
}

/// A caption file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptionFormat {
    /// WebVTT (`text/vtt`).
    Vtt,
    /// SubRip (`application/x-subrip`).
    Srt,
}

impl CaptionFormat {
    /// The format named `name` (`vtt`, `webvtt`, `srt`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "vtt" | "webvtt" => Some(Self::Vtt),
            "srt" => Some(Self::Srt),
            _ => None,
        }
    }

    /// Its MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Vtt => "text/vtt; charset=utf-8",
            Self::Srt => "application/x-subrip; charset=utf-8",
        }
    }

    /// Its file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Vtt => "vtt",
            Self::Srt => "srt",
        }
    }
}

/// The text of `input` from a word through the punctuation right after it, whitespace
/// collapsed to single spaces; and whether that punctuation ends a sentence (a word's own
/// period, as in "Dr.", does not).
fn shown(input: &str, word: &WordTime) -> (String, bool) {
    let rest = &input[word.source.end..];
    let tail: usize = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !c.is_alphanumeric())
        .map(char::len_utf8)
        .sum();
    // Opening punctuation right before the word ("(of", "“Hi") is shown with it.
    let before = &input[..word.source.start];
    let lead: usize = before
        .chars()
        .rev()
        .take_while(|c| !c.is_whitespace() && !c.is_alphanumeric())
        .map(char::len_utf8)
        .sum();
    let opens = before[..before.len() - lead]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    let start = word.source.start - if opens { lead } else { 0 };
    let text = &input[start..word.source.end + tail];
    let ends = rest[..tail].contains(['.', '!', '?', '…']);
    (text.split_whitespace().collect::<Vec<_>>().join(" "), ends)
}

/// The words of `input` (with their times) grouped into cues.
pub fn cues(input: &str, words: &[WordTime]) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut start = 0.0;
    let mut end = 0.0;
    let flush = |cues: &mut Vec<Cue>, texts: &mut Vec<String>, start: f64, end: f64| {
        if !texts.is_empty() {
            cues.push(Cue {
                start,
                end,
                lines: lines(texts),
            });
            texts.clear();
        }
    };
    for word in words {
        let (text, last_of_sentence) = shown(input, word);
        if !texts.is_empty() {
            texts.push(text.clone());
            let fits = lines(&texts)
                .iter()
                .all(|l| l.chars().count() <= LINE_CHARS);
            texts.pop();
            let too_long = !fits || word.end - start > MAX_SECONDS;
            if too_long || word.start - end >= PAUSE_SECONDS {
                flush(&mut cues, &mut texts, start, end);
            }
        }
        if texts.is_empty() {
            start = word.start;
        }
        end = word.end;
        texts.push(text);
        if last_of_sentence {
            flush(&mut cues, &mut texts, start, end);
        }
    }
    flush(&mut cues, &mut texts, start, end);
    cues
}

/// Words on one line, or two balanced lines of at most [`LINE_CHARS`] when they do not fit.
fn lines(words: &[String]) -> Vec<String> {
    let joined = words.join(" ");
    if joined.chars().count() <= LINE_CHARS || words.len() < 2 {
        return vec![joined];
    }
    // The break that makes the longer line shortest.
    let lengths: Vec<usize> = words.iter().map(|w| w.chars().count()).collect();
    let total: usize = lengths.iter().sum::<usize>() + lengths.len() - 1;
    let mut first = 0;
    let mut best = (usize::MAX, 1);
    for k in 1..words.len() {
        first += lengths[k - 1] + usize::from(k > 1);
        let second = total - first - 1;
        best = best.min((first.max(second), k));
    }
    vec![words[..best.1].join(" "), words[best.1..].join(" ")]
}

/// A time as `hh:mm:ss.mmm` (`,` before the milliseconds for SRT).
fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Cue text made safe for the format: WebVTT escapes `&`, `<` and `>`; neither format may have
/// an arrow or an empty line inside a cue.
fn escape(line: &str, format: CaptionFormat) -> String {
    let line = line.replace("-->", "->");
    match format {
        CaptionFormat::Vtt => line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        CaptionFormat::Srt => line,
    }
}

/// `cues` written as a caption file.
pub fn render(cues: &[Cue], format: CaptionFormat) -> String {
    let mut out = String::new();
    if format == CaptionFormat::Vtt {
        out.push_str("WEBVTT\n\n");
    }
    let separator = match format {
        CaptionFormat::Vtt => '.',
        CaptionFormat::Srt => ',',
    };
    for (i, cue) in cues.iter().enumerate() {
        if format == CaptionFormat::Srt {
            out.push_str(&format!("{}\n", i + 1));
        }
        out.push_str(&format!(
            "{} --> {}\n",
            timestamp(cue.start, separator),
            timestamp(cue.end.max(cue.start), separator)
        ));
        for line in &cue.lines {
            out.push_str(&escape(line, format));
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words of `input` split on spaces, each `step` seconds long, with a gap of `gap` after
    /// words ending in punctuation.
    fn timed(input: &str, step: f64, gap: f64) -> Vec<WordTime> {
        let mut out = Vec::new();
        let mut at = 0.0;
        let mut offset = 0;
        for token in input.split(' ') {
            let word = token.trim_end_matches([',', '.', '!', '?']);
            out.push(WordTime {
                word: word.into(),
                source: offset..offset + word.len(),
                start: at,
                end: at + step,
            });
            at += step + if word.len() < token.len() { gap } else { 0.05 };
            offset += token.len() + 1;
        }
        out
    }

    #[test]
    fn sentences_make_cues_with_their_punctuation() {
        let input = "Hello there, friend. How are you?";
        let cues = cues(input, &timed(input, 0.3, 0.2));
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].lines, ["Hello there, friend."]);
        assert_eq!(cues[1].lines, ["How are you?"]);
        assert_eq!(cues[0].start, 0.0);
        assert!(cues[0].end <= cues[1].start);
    }

    #[test]
    fn long_stretches_are_cut_into_two_line_cues() {
        let input = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";
        let cues = cues(input, &timed(input, 0.25, 0.0));
        assert!(cues.len() >= 2);
        for cue in &cues {
            assert!(cue.lines.len() <= 2);
            assert!(
                cue.lines.iter().all(|l| l.chars().count() <= LINE_CHARS),
                "{cue:?}"
            );
            assert!(cue.end - cue.start <= MAX_SECONDS);
        }
        let words: Vec<String> = cues.iter().flat_map(|c| c.lines.clone()).collect();
        assert_eq!(words.join(" "), input);
    }

    #[test]
    fn an_abbreviation_s_period_does_not_end_the_cue() {
        let input = "Dr. Who";
        let words = [
            WordTime {
                word: "Dr.".into(),
                source: 0..3,
                start: 0.0,
                end: 0.3,
            },
            WordTime {
                word: "Who".into(),
                source: 4..7,
                start: 0.35,
                end: 0.6,
            },
        ];
        assert_eq!(cues(input, &words)[0].lines, ["Dr. Who"]);
    }

    #[test]
    fn brackets_and_quotes_stay_with_their_words() {
        let input = "Yes (of course), \"she said\".";
        let mut words = Vec::new();
        for (i, w) in ["Yes", "of", "course", "she", "said"].iter().enumerate() {
            let at = input.find(w).unwrap();
            words.push(WordTime {
                word: (*w).into(),
                source: at..at + w.len(),
                start: i as f64 * 0.3,
                end: i as f64 * 0.3 + 0.25,
            });
        }
        assert_eq!(cues(input, &words)[0].lines, [input]);
    }

    #[test]
    fn a_pause_starts_a_new_cue() {
        let input = "wait, then go";
        let cues = cues(input, &timed(input, 0.3, 0.8));
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].lines, ["wait,"]);
    }

    #[test]
    fn webvtt_and_srt_are_written_with_their_own_time_formats_and_escapes() {
        let cues = [Cue {
            start: 3661.5,
            end: 3662.25,
            lines: vec!["a <b> & c --> d".into()],
        }];
        assert_eq!(
            render(&cues, CaptionFormat::Vtt),
            "WEBVTT\n\n01:01:01.500 --> 01:01:02.250\na &lt;b&gt; &amp; c -&gt; d\n\n"
        );
        assert_eq!(
            render(&cues, CaptionFormat::Srt),
            "1\n01:01:01,500 --> 01:01:02,250\na <b> & c -> d\n\n"
        );
        assert_eq!(render(&[], CaptionFormat::Vtt), "WEBVTT\n\n");
        assert_eq!(CaptionFormat::parse("WebVTT"), Some(CaptionFormat::Vtt));
        assert_eq!(CaptionFormat::parse("ass"), None);
    }
}
