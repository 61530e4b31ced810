//! Sentence splitting before synthesis.
//!
//! Owns: cutting text into sentences (at . ! ? … and line breaks, not after abbreviations,
//! initials or decimal points) and cutting sentences longer than a limit at clause punctuation,
//! then spaces, then (for one over-long word) character boundaries. Only whitespace is ever
//! removed. Pure functions over strings; must not import OpenVINO or HTTP code.

/// Abbreviations after which a period never ends a sentence (titles before a name).
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "capt", "lt", "sgt", "gen", "gov", "sen", "rev",
    "no", "fig", "vol", "vs", "e.g", "i.e", "approx", "dept", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

/// Abbreviations that end a sentence only when a capitalized word follows.
const TAILS: &[&str] = &[
    "etc", "inc", "ltd", "co", "corp", "jr", "sr", "bros", "ave", "blvd",
];

/// Splits `text` into sentences of at most `max_chars` characters each (a `max_chars` of 0
/// counts as 1).
///
/// Sentences end at `.`, `!`, `?`, `…` (with any closing quotes or brackets after them) followed
/// by whitespace, and at line breaks; a period after a common abbreviation ("Dr.", "e.g."), an
/// initial ("J. R. R.") or inside a number ("3.14") does not end one. Pieces are trimmed and
/// empty ones dropped; terminal punctuation stays with its sentence. A longer sentence is cut
/// after the last `;` or `:` that fits, else the last `,`, else the last space, else hard at a
/// character boundary. Joining the pieces with spaces keeps every non-whitespace character.
pub fn split_sentences(text: &str, max_chars: usize) -> Vec<String> {
    let max = max_chars.max(1);
    let mut out = Vec::new();
    for sentence in sentences(text) {
        split_long(sentence, max, &mut out);
    }
    out
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '}' | '»')
}

/// Cuts `text` at sentence ends; returns trimmed, non-empty slices.
fn sentences(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut pieces = Vec::new();
    let mut start = 0; // byte offset
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c == '\n' || c == '\r' {
            pieces.push(&text[start..pos]);
            start = pos + c.len_utf8();
            i += 1;
            continue;
        }
        if !is_terminal(c) {
            i += 1;
            continue;
        }
        let run_start = i;
        let mut j = i;
        while j < chars.len() && is_terminal(chars[j].1) {
            j += 1;
        }
        while j < chars.len() && is_closer(chars[j].1) {
            j += 1;
        }
        let at_break = j == chars.len() || chars[j].1.is_whitespace();
        let single_period = c == '.' && chars[run_start + 1..j].iter().all(|&(_, c)| is_closer(c));
        if at_break && !(single_period && abbreviation_before(&chars, run_start, j)) {
            let end = if j == chars.len() {
                text.len()
            } else {
                chars[j].0
            };
            pieces.push(&text[start..end]);
            start = end;
        }
        i = j;
    }
    pieces.push(&text[start..]);
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether the period at `dot` follows an abbreviation or an initial, so the sentence goes on.
fn abbreviation_before(chars: &[(usize, char)], dot: usize, after: usize) -> bool {
    let mut k = dot;
    while k > 0 && !chars[k - 1].1.is_whitespace() {
        k -= 1;
    }
    let word: String = chars[k..dot]
        .iter()
        .map(|&(_, c)| c)
        .skip_while(|&c| !c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let letters: Vec<char> = word.chars().collect();
    if letters.len() == 1 && chars[dot - 1].1.is_uppercase() && word != "i" {
        return true; // an initial: "J. R. R. Tolkien"
    }
    if TITLES.contains(&word.as_str()) {
        return true;
    }
    let dotted = letters.len() >= 3
        && letters.iter().enumerate().all(|(n, &c)| {
            if n % 2 == 1 {
                c == '.'
            } else {
                c.is_alphabetic()
            }
        });
    if TAILS.contains(&word.as_str()) || dotted {
        // Goes on unless a capitalized word follows ("U.S. economy" stays, "U.S. Then" ends).
        let next = chars[after..]
            .iter()
            .map(|&(_, c)| c)
            .find(|c| !c.is_whitespace());
        return !next.is_some_and(char::is_uppercase);
    }
    false
}

/// Pushes `sentence` as pieces of at most `max` characters.
fn split_long(sentence: &str, max: usize, out: &mut Vec<String>) {
    let mut rest = sentence.trim();
    while rest.chars().count() > max {
        let cut = cut_point(rest, max);
        let (head, tail) = rest.split_at(cut);
        let head = head.trim();
        if !head.is_empty() {
            out.push(head.to_string());
        }
        rest = tail.trim();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
}

/// A byte offset (> 0) where `s` (longer than `max` characters) is cut so the head fits.
fn cut_point(s: &str, max: usize) -> usize {
    let fit: Vec<(usize, char)> = s.char_indices().take(max + 1).collect();
    // The byte offset just after the `max`-th character: the head may end there at most.
    let limit = fit[max].0;
    let followed_by_space = |n: usize| fit.get(n + 1).is_none_or(|&(_, c)| c.is_whitespace());
    let last = |pred: &dyn Fn(char) -> bool| {
        (0..max)
            .rev()
            .find(|&n| pred(fit[n].1) && followed_by_space(n))
            .map(|n| fit[n].0 + fit[n].1.len_utf8())
    };
    if let Some(cut) = last(&|c| c == ';' || c == ':') {
        return cut;
    }
    if let Some(cut) = last(&|c| c == ',') {
        return cut;
    }
    if let Some(n) = (1..=max).rev().find(|&n| fit[n].1.is_whitespace()) {
        return fit[n].0;
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, max: usize) -> Vec<String> {
        split_sentences(text, max)
    }

    #[test]
    fn cases() {
        let cases: &[(&str, usize, &[&str])] = &[
            (
                "Hello world. How are you?",
                100,
                &["Hello world.", "How are you?"],
            ),
            ("Wow! Really?! Yes.", 100, &["Wow!", "Really?!", "Yes."]),
            ("Wait… what", 100, &["Wait…", "what"]),
            ("One...  Two", 100, &["One...", "Two"]),
            (
                "Dr. Smith is here. He waits.",
                100,
                &["Dr. Smith is here.", "He waits."],
            ),
            (
                "Mr. and Mrs. Brown left.",
                100,
                &["Mr. and Mrs. Brown left."],
            ),
            (
                "Fruit, e.g. apples, i.e. food.",
                100,
                &["Fruit, e.g. apples, i.e. food."],
            ),
            (
                "Pi is 3.14 today. Yes.",
                100,
                &["Pi is 3.14 today.", "Yes."],
            ),
            (
                "J. R. R. Tolkien wrote it.",
                100,
                &["J. R. R. Tolkien wrote it."],
            ),
            ("Apples, etc. and pears.", 100, &["Apples, etc. and pears."]),
            (
                "Apples, etc. Then pears.",
                100,
                &["Apples, etc.", "Then pears."],
            ),
            ("The U.S. economy grew.", 100, &["The U.S. economy grew."]),
            (
                "I live in the U.S. Then",
                100,
                &["I live in the U.S.", "Then"],
            ),
            ("I live in the U.S. we", 100, &["I live in the U.S. we"]),
            (
                "Neither am I. Then go.",
                100,
                &["Neither am I.", "Then go."],
            ),
            (
                "He said \"Hi.\" Then left.",
                100,
                &["He said \"Hi.\"", "Then left."],
            ),
            ("(Really.) Yes.", 100, &["(Really.)", "Yes."]),
            ("Line one\nLine two", 100, &["Line one", "Line two"]),
            ("Para one.\n\n\nPara two.", 100, &["Para one.", "Para two."]),
            ("  \n \t ", 100, &[]),
            ("", 100, &[]),
            ("No end", 100, &["No end"]),
            ("example.com is a site.", 100, &["example.com is a site."]),
            ("a, b; c d", 5, &["a, b;", "c d"]),
            (
                "one two: three, four five",
                12,
                &["one two:", "three,", "four five"],
            ),
            ("alpha beta gamma delta", 11, &["alpha beta", "gamma delta"]),
            ("abcdefghij", 4, &["abcd", "efgh", "ij"]),
            ("héllo wörld", 5, &["héllo", "wörld"]),
            ("ab cdefghijk", 4, &["ab", "cdef", "ghij", "k"]),
            ("at 10:30, ok", 7, &["at", "10:30,", "ok"]),
            ("x", 0, &["x"]),
        ];
        for (input, max, expected) in cases {
            assert_eq!(&split(input, *max), expected, "input {input:?} max {max}");
        }
    }

    #[test]
    fn pieces_respect_the_limit() {
        let text = "This is a fairly long sentence, with commas; and clauses: and words. Short.";
        for max in 1..40 {
            for piece in split(text, max) {
                assert!(piece.chars().count() <= max, "{piece:?} > {max}");
            }
        }
    }

    use crate::text::TestRng as Rng;

    #[test]
    fn joining_pieces_keeps_every_non_whitespace_character_in_order() {
        const ALPHABET: &[char] = &[
            'a', 'b', 'Z', 'I', ' ', ' ', ' ', '\n', '\t', '.', '.', '!', '?', '…', ',', ';', ':',
            '"', ')', '3', 'é', '😀', 'D', 'r', 'e', 'g',
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(80);
            let text: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            let max = rng.below(30);
            let pieces = split(&text, max);
            let joined = pieces.join(" ");
            let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(strip(&joined), strip(&text), "text {text:?} max {max}");
            for piece in &pieces {
                assert!(!piece.is_empty() && piece.trim() == piece);
                assert!(piece.chars().count() <= max.max(1), "{piece:?} > {max}");
            }
        }
    }
}
