//! English text normalization before the character tokenizer.
//!
//! Owns: turning every ASCII digit into words (cardinals, ordinals, years, decimals, money,
//! percentages, fractions, times, ranges, dates, phone-like digit strings), spelling out symbols
//! and common abbreviations, mapping typographic punctuation to the few marks SpeechT5's
//! tokenizer knows, and collapsing whitespace (control characters count as whitespace). Nothing
//! else the user wrote is silently dropped: unknown symbols (emoji, other scripts) pass through
//! unchanged.
//!
//! This module holds the entry point, `normalize`, and its end-to-end cases; the rules live in
//! the submodules: `scanner` (the single pass that hands each position to a rule), `clusters`
//! (numeric clusters and what follows them), `numbers` (number words), `money`, `dates_times`,
//! `words` (initials, abbreviations, acronyms) with its tables in `abbreviations`, `symbols`
//! (symbols, quotes and units as words), `input` (questions about the input around a position)
//! and `output` (the buffer that collapses whitespace and pauses).
//!
//! Pure functions over strings, linear in the input; must not import OpenVINO or HTTP code.

mod abbreviations;
mod clusters;
mod dates_times;
mod input;
mod money;
mod numbers;
mod output;
mod scanner;
mod symbols;
mod words;

use std::ops::Range;

/// Normalizes English text for the SpeechT5 character tokenizer.
///
/// Every ASCII digit becomes words; symbols and common abbreviations are spelled out; sentence
/// punctuation is kept; em/en dashes and brackets become comma pauses; curly quotes become
/// straight ones; runs of whitespace become one space, or one newline when they contain a line
/// break (LF, CR, VT, FF, U+2028, U+2029); the result is trimmed. Control characters
/// (`char::is_control`: C0 controls such as NUL, BEL, tab and ESC, DEL, C1 controls such as
/// NEL) are whitespace: those that are line breaks break the line, every other one reads as a
/// space, so runs of them collapse with the whitespace around them and none is left in the
/// output. Other characters it has no rule for (emoji, other scripts) are kept. Never panics;
/// time is linear in the input.
pub fn normalize(text: &str) -> String {
    scanner::Normalizer::new(text).run()
}

/// Normalized text with the way back to what the user wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The output of [`normalize`].
    pub text: String,
    /// In order, each rule's output (bytes of `text`) and the input it read (bytes of the input
    /// text): "$3.50" is one span, read out as "three dollars and fifty cents". Whitespace the
    /// output collapsed belongs to the span after it; input that wrote nothing has no span.
    pub spans: Vec<MappedSpan>,
}

/// One rule's output and the input it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedSpan {
    /// Bytes of [`Normalized::text`].
    pub output: Range<usize>,
    /// Bytes of the input text.
    pub source: Range<usize>,
}

impl Normalized {
    /// The input bytes the output bytes `output` came from: the union of the sources of every
    /// span that overlaps it; `None` when no span does.
    pub fn source_of(&self, output: Range<usize>) -> Option<Range<usize>> {
        let first = self.spans.partition_point(|s| s.output.end <= output.start);
        let mut found: Option<Range<usize>> = None;
        for span in self.spans[first..]
            .iter()
            .take_while(|s| s.output.start < output.end)
        {
            found = Some(match found {
                None => span.source.clone(),
                Some(r) => r.start.min(span.source.start)..r.end.max(span.source.end),
            });
        }
        found
    }
}

/// [`normalize`], keeping for every part of the output the input it was read from.
pub fn normalize_mapped(text: &str) -> Normalized {
    let (out, steps) = scanner::Normalizer::new(text).run_mapped();
    // Input character index → byte offset (one past the end included).
    let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    bytes.push(text.len());
    let spans = steps
        .into_iter()
        .map(|(output, chars)| MappedSpan {
            output,
            source: bytes[chars.start]..bytes[chars.end],
        })
        .collect();
    Normalized { text: out, spans }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, &str)] = &[
        // Cardinals.
        ("42", "forty-two"),
        ("0", "zero"),
        ("100", "one hundred"),
        ("115", "one hundred fifteen"),
        (
            "1,234,567",
            "one million two hundred thirty-four thousand five hundred sixty-seven",
        ),
        ("5000000000000", "five trillion"),
        ("1000", "one thousand"),
        ("I have 3 cats.", "I have three cats."),
        ("007", "zero zero seven"),
        (
            "12345678901234567",
            "one two three four five six seven eight nine zero one two three four five six seven",
        ),
        ("mp3", "mp three"),
        ("1,2,3", "one, two, three"),
        // Years.
        ("1999", "nineteen ninety-nine"),
        ("2024", "twenty twenty-four"),
        ("2005", "two thousand five"),
        ("2000", "two thousand"),
        ("1905", "nineteen oh five"),
        ("1900", "nineteen hundred"),
        ("2024 km", "two thousand twenty-four kilometers"),
        ("#1999", "number one thousand nine hundred ninety-nine"),
        ("the 1990s", "the nineteen nineties"),
        ("the '80s", "the eighties"),
        // Ordinals.
        ("1st", "first"),
        ("2nd", "second"),
        ("23rd", "twenty-third"),
        ("101st", "one hundred first"),
        ("12th", "twelfth"),
        ("40th", "fortieth"),
        ("May 5", "May fifth"),
        // Decimals, negatives.
        ("3.14", "three point one four"),
        ("-5", "minus five"),
        ("-3.5", "minus three point five"),
        (".5", "point five"),
        ("1.2.3.4", "one dot two dot three dot four"),
        ("3..5", "three..five"),
        // Money.
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("$3.50", "three dollars and fifty cents"),
        ("$1.01", "one dollar and one cent"),
        ("$0.99", "ninety-nine cents"),
        ("$3.5", "three point five dollars"),
        ("€20", "twenty euros"),
        ("20 €", "twenty euros"),
        ("£1.5 million", "one point five million pounds"),
        ("£2.10", "two pounds and ten pence"),
        ("¥500", "five hundred yen"),
        ("$5k", "five thousand dollars"),
        ("$1,000,000", "one million dollars"),
        ("$10-$20", "ten dollars to twenty dollars"),
        ("-$5", "minus five dollars"),
        ("50¢", "fifty cents"),
        ("$", "dollar"),
        // Percent, fractions.
        ("50%", "fifty percent"),
        ("2.5 %", "two point five percent"),
        ("%%%", "percent percent percent"),
        ("1/2", "one half"),
        ("3/4", "three quarters"),
        ("5/8", "five eighths"),
        ("1/3", "one third"),
        ("1 1/2 cups", "one and one half cups"),
        ("24/7", "twenty-four seven"),
        ("½", "one half"),
        // Times.
        ("10:30", "ten thirty"),
        ("9:05", "nine oh five"),
        ("10:00", "ten o'clock"),
        ("14:00", "fourteen hundred"),
        ("10:30am", "ten thirty a m"),
        ("10:00 PM", "ten p m"),
        ("5 p.m. today", "five p m today"),
        ("at 5 p.m. Then", "at five p m. Then"),
        ("5pm", "five p m"),
        ("1:02:03", "one oh two and three seconds"),
        // Ranges, dates, phone numbers.
        ("10-20", "ten to twenty"),
        ("10–20%", "ten to twenty percent"),
        ("1999-2005", "nineteen ninety-nine to two thousand five"),
        ("2024-05-01", "May first, twenty twenty-four"),
        ("12/25/2024", "December twenty-fifth, twenty twenty-four"),
        ("555-0199", "five five five, zero one nine nine"),
        (
            "1-800-555-0199",
            "one, eight zero zero, five five five, zero one nine nine",
        ),
        (
            "192.168.0.1",
            "one hundred ninety-two dot one hundred sixty-eight dot zero dot one",
        ),
        // Units.
        ("5 km", "five kilometers"),
        ("1 km", "one kilometer"),
        ("60 km/h", "sixty kilometers per hour"),
        ("3kg", "three kilograms"),
        ("10 m", "ten meters"),
        ("6 ft", "six feet"),
        ("12in", "twelve inches"),
        ("5 in the box", "five in the box"),
        ("2 min", "two minutes"),
        ("1.5 hr", "one point five hours"),
        ("16 GB", "sixteen gigabytes"),
        ("3x faster", "three times faster"),
        ("20°C", "twenty degrees Celsius"),
        ("1°", "one degree"),
        // Symbols.
        ("rock & roll", "rock and roll"),
        ("me@example", "me at example"),
        ("1+1=2", "one plus one equals two"),
        ("#hashtag", "hash hashtag"),
        ("#5", "number five"),
        ("~5", "about five"),
        ("and/or", "and slash or"),
        ("5*3", "five star three"),
        ("snake_case", "snake underscore case"),
        ("Wait... what", "Wait... what"),
        ("Wait… what", "Wait... what"),
        ("He said — quietly — hi", "He said, quietly, hi"),
        ("a -- b", "a, b"),
        ("one (two) three", "one, two, three"),
        ("“Hi,” she said, ‘don’t’", "\"Hi,\" she said, 'don't'"),
        ("well-known", "well-known"),
        ("I ❤️ you 😀", "I ❤️ you 😀"),
        ("中文 text", "中文 text"),
        // Abbreviations.
        ("Mr. Smith", "Mister Smith"),
        ("Mrs. Smith and Ms. Jones", "Missus Smith and Miz Jones"),
        ("Dr. Who", "Doctor Who"),
        ("Mulholland Dr. is long", "Mulholland Drive is long"),
        ("St. Louis", "Saint Louis"),
        ("Main St. is busy", "Main Street is busy"),
        (
            "I live on Baker St. It is nice.",
            "I live on Baker Street. It is nice.",
        ),
        ("Prof. X", "Professor X"),
        (
            "John Smith Jr. and Acme Co. agree",
            "John Smith Junior and Acme Company agree",
        ),
        ("cats vs. dogs", "cats versus dogs"),
        ("cats vs dogs", "cats versus dogs"),
        ("apples, etc. Then", "apples, et cetera. Then"),
        ("fruit, e.g., apples", "fruit, for example, apples"),
        ("i.e. this", "that is this"),
        (
            "Acme Inc. and Foo Ltd. agree",
            "Acme Incorporated and Foo Limited agree",
        ),
        ("No. 5", "number five"),
        ("No. I won't", "No. I won't"),
        ("Jan. 3", "January third"),
        ("in the U.S. Then", "in the U S. Then"),
        ("U.S. law", "U S law"),
        ("Mr Smith", "Mister Smith"),
        // Acronyms.
        ("HTTP is a protocol", "H T T P is a protocol"),
        ("NASA launched", "NASA launched"),
        ("the FBI said OK", "the F B I said okay"),
        ("I AM HERE", "I AM HERE"),
        ("World War II", "World War II"),
        // Whitespace.
        ("  lots   of\tspace  ", "lots of space"),
        ("para one.\n\n  para two.", "para one.\npara two."),
        ("", ""),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for (input, expected) in CASES {
            let got = normalize(input);
            if got != *expected {
                failures.push(format!("{input:?}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn table_has_enough_cases() {
        assert!(CASES.len() >= 60);
    }

    use crate::text::TestRng as Rng;

    /// Pieces that mix digits and symbols in the shapes the rules look for, and some they don't.
    const NUMBERISH: &[&str] = &[
        "0",
        "1",
        "7",
        "12",
        "007",
        "1999",
        "2024",
        "123456",
        "99999999999999999999999",
        ",",
        ".",
        ":",
        "/",
        "-",
        "–",
        "$",
        "€",
        "£",
        "¥",
        "%",
        "°",
        "C",
        "st",
        "nd",
        "th",
        "s",
        "'",
        "am",
        "p.m.",
        " ",
        " ",
        "km",
        "m",
        "in",
        "x",
        "k",
        "M",
        "#",
        "No. ",
        "+",
        "=",
        "~",
        "*",
        "½",
        "May ",
        "Mr. ",
        "e.g.",
        "U.S.",
        "HTTP",
        "a",
        "\n",
        "(",
        ")",
        "…",
        "—",
        "😀",
        "million",
    ];

    fn numberish(rng: &mut Rng) -> String {
        let len = rng.below(12);
        (0..len).map(|_| rng.pick(NUMBERISH)).collect()
    }

    #[test]
    fn output_has_no_ascii_digits() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let text = numberish(&mut rng);
            let out = normalize(&text);
            assert!(
                !out.chars().any(|c| c.is_ascii_digit()),
                "{text:?} → {out:?}"
            );
        }
    }

    #[test]
    fn never_panics_on_random_strings() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..10_000 {
            let len = rng.below(40);
            let text: String = (0..len)
                .map(|_| match rng.below(4) {
                    0 => char::from(b' ' + rng.below(95) as u8),
                    1 => char::from(b'0' + rng.below(10) as u8),
                    2 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'),
                    _ => ['.', '-', ',', ':', '/', '$', '%', '\n', 'é', '😀'][rng.below(10)],
                })
                .collect();
            let out = normalize(&text);
            assert!(
                !out.chars().any(|c| c.is_ascii_digit()),
                "{text:?} → {out:?}"
            );
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut inputs: Vec<String> = CASES.iter().map(|(i, _)| i.to_string()).collect();
        inputs.extend((0..20_000).map(|_| numberish(&mut rng)));
        for text in inputs {
            let once = normalize(&text);
            assert_eq!(normalize(&once), once, "input {text:?}");
        }
    }

    #[test]
    fn control_characters_become_whitespace() {
        let cases = [
            ("\u{7f}", ""),
            ("a\u{7f}b", "a b"),
            (
                "Hello\u{0}world, and\u{0}\u{0} more.",
                "Hello world, and more.",
            ),
            ("Bell\u{7}ring", "Bell ring"),
            ("es\u{1b}cape", "es cape"),
            ("next\u{85}line", "next line"),
            ("one \u{7f}\u{0} \u{7}\u{1b}\u{85} two", "one two"),
            (
                "\u{0}\u{7}\u{1b} lead and trail \u{85}\u{7f}",
                "lead and trail",
            ),
            ("one\u{7}\n\u{7f}two", "one\ntwo"),
            ("a\u{9f}b\u{80}c", "a b c"),
            ("Mr.\u{0}Smith", "Mister Smith"),
            ("$\u{7f}5", "five dollars"),
            // Tabs and line breaks keep their meaning; U+2028 and U+2029 are line breaks.
            ("a\tb", "a b"),
            ("one\u{2028}two\u{2029}three", "one\ntwo\nthree"),
            ("etc.\u{2028}then", "et cetera.\nthen"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input:?}");
        }
        // Every control character, alone, inside a word and between words.
        for c in (0..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert!(c.is_control());
            let line_break = matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}');
            let gap = if line_break { "\n" } else { " " };
            assert_eq!(normalize(&c.to_string()), "", "{c:?}");
            assert_eq!(
                normalize(&format!("ab{c}cd")),
                format!("ab{gap}cd"),
                "{c:?}"
            );
            assert_eq!(
                normalize(&format!("ab {c}{c} cd")),
                format!("ab{gap}cd"),
                "{c:?}"
            );
        }
        // A control character reads exactly as a space would.
        for (input, _) in CASES {
            let controlled = input.replace(' ', "\u{7f}");
            assert_eq!(normalize(&controlled), normalize(input), "{controlled:?}");
        }
    }

    #[test]
    fn the_map_gives_the_same_text_and_leads_back_to_what_the_user_wrote() {
        let mut rng = Rng(0x0ff5_e7ab_1e00_0001);
        let mut inputs: Vec<String> = CASES.iter().map(|(i, _)| i.to_string()).collect();
        inputs.extend((0..20_000).map(|_| numberish(&mut rng)));
        for text in inputs {
            let mapped = normalize_mapped(&text);
            assert_eq!(mapped.text, normalize(&text), "{text:?}");
            let mut output_end = 0;
            let mut source_end = 0;
            for span in &mapped.spans {
                assert!(span.output.start == output_end, "{text:?}: {mapped:?}");
                assert!(span.source.start >= source_end && span.source.end <= text.len());
                assert!(text.is_char_boundary(span.source.start));
                assert!(text.is_char_boundary(span.source.end));
                output_end = span.output.end;
                source_end = span.source.end;
            }
            assert_eq!(output_end, mapped.text.len(), "{text:?}");
        }
        let mapped = normalize_mapped("Pay $3.50, Dr. Who.");
        let at = |word: &str| {
            let start = mapped.text.find(word).unwrap();
            let source = mapped.source_of(start..start + word.len()).unwrap();
            &"Pay $3.50, Dr. Who."[source]
        };
        assert_eq!(
            mapped.text,
            "Pay three dollars and fifty cents, Doctor Who."
        );
        assert_eq!(at("dollars"), "$3.50");
        assert_eq!(at("three dollars and fifty cents"), "$3.50");
        assert_eq!(at("Doctor"), "Dr.");
        assert_eq!(at("Who"), "Who");
    }

    #[test]
    fn huge_numbers_are_read_digit_by_digit_in_linear_time() {
        let digits = "9".repeat(100_000);
        let out = normalize(&digits);
        assert_eq!(out.split(' ').count(), 100_000);
        let mixed = "1.2-3:4/5,6 ".repeat(20_000);
        assert!(!normalize(&mixed).chars().any(|c| c.is_ascii_digit()));
    }
}
