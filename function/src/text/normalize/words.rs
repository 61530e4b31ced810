//! Runs of letters: dotted initials ("U.S.", "e.g."), abbreviations with a period and the
//! context that picks their reading ("St." is Saint before a name, Street otherwise), bare
//! titles ("Mr Smith"), acronyms spelled letter by letter ("HTTP"), and "OK". Other words are
//! copied as written.

use super::abbreviations::{
    abbr_matches, Abbr, ABBREVIATIONS, BARE_TITLES, SENTENCE_STARTERS, SPOKEN_ACRONYMS,
};
use super::input::Input;
use super::output::Out;

/// Reads the run of letters starting at `i` (with the period of an abbreviation or the dots of
/// initials) into `out`; sets `no_year` when the next number must not be read as a year
/// ("No. 1999"). Returns the index after everything consumed.
pub(super) fn word(input: &Input, out: &mut Out, i: usize, no_year: &mut bool) -> usize {
    let mut j = i;
    while input.at(j).is_some_and(char::is_alphabetic) {
        j += 1;
    }
    let w: String = input[i..j].iter().collect();
    let prev_letter = i > 0 && input.at(i - 1).is_some_and(char::is_alphabetic);

    // Dotted initials: "U.S.", "e.g.", "a.m.".
    if j == i + 1 && input.at(j) == Some('.') && !prev_letter {
        let mut letters = vec![input[i]];
        let mut k = j + 1;
        while input.at(k).is_some_and(char::is_alphabetic) && input.at(k + 1) == Some('.') {
            letters.push(input[k]);
            k += 2;
        }
        let free = !input
            .at(k)
            .is_some_and(|c| c.is_alphabetic() || c == '.' || c == '…');
        if letters.len() >= 2 && free {
            let written: String = letters.iter().collect();
            match written.as_str() {
                "eg" => out.word("for example"),
                "ie" => out.word("that is"),
                _ => {
                    let spaced: Vec<String> = letters.iter().map(char::to_string).collect();
                    out.word(&spaced.join(" "));
                    if input.ends_sentence(k) {
                        out.raw('.');
                    }
                }
            }
            return k;
        }
    }

    // Abbreviations with a period.
    let single_period = input.at(j) == Some('.') && !matches!(input.at(j + 1), Some('.' | '…'));
    if single_period && !prev_letter {
        if let Some(&(_, expansion, kind)) =
            ABBREVIATIONS.iter().find(|(a, _, _)| abbr_matches(a, &w))
        {
            let after = j + 1;
            let next_cap = next_word_capitalized(input, after);
            match kind {
                Abbr::Title => {
                    out.word(expansion);
                    return after;
                }
                Abbr::BeforeNumber => {
                    let mut k = after;
                    while input.at(k) == Some(' ') {
                        k += 1;
                    }
                    if input.digit_at(k) {
                        out.word(expansion);
                        *no_year = true;
                        return after;
                    }
                }
                Abbr::SaintOrStreet | Abbr::DoctorOrDrive | Abbr::Tail => {
                    let name_follows = next_cap && input.at(after) == Some(' ');
                    let word = match kind {
                        Abbr::SaintOrStreet if name_follows => "Saint",
                        Abbr::SaintOrStreet => "Street",
                        Abbr::DoctorOrDrive if name_follows => "Doctor",
                        Abbr::DoctorOrDrive if prev_word_capitalized(input, i) => "Drive",
                        Abbr::DoctorOrDrive => "Doctor",
                        _ => expansion,
                    };
                    out.word(word);
                    let titled = matches!(word, "Saint" | "Doctor");
                    if !titled && input.ends_sentence(after) {
                        out.raw('.');
                    }
                    return after;
                }
            }
        }
    }

    if !prev_letter {
        if w.eq_ignore_ascii_case("vs") {
            out.word("versus");
            return j;
        }
        if let Some(&(_, expansion)) = BARE_TITLES.iter().find(|(a, _)| *a == w) {
            if input.at(j) == Some(' ') && next_word_capitalized(input, j) {
                out.word(expansion);
                return j;
            }
        }
        if w == "OK" {
            out.word("okay");
            return j;
        }
        if spell_acronym(input, i, j, &w) {
            let spaced: Vec<String> = w.chars().map(|c| c.to_string()).collect();
            out.word(&spaced.join(" "));
            return j;
        }
    }
    for ch in w.chars() {
        out.raw(ch);
    }
    j
}

/// All-caps words of 2–5 ASCII letters are spelled out ("HTTP" → "H T T P"), except
/// words read as words, Roman numerals, and shouting (an all-caps neighbor).
fn spell_acronym(input: &Input, i: usize, j: usize, w: &str) -> bool {
    let caps = |s: &str| s.chars().all(|c| c.is_ascii_uppercase());
    if !(2..=5).contains(&w.len()) || !caps(w) || SPOKEN_ACRONYMS.contains(&w) {
        return false;
    }
    if !input.word_end(j) || (i > 0 && input[i - 1] == '.') {
        return false;
    }
    if w.chars().all(|c| matches!(c, 'I' | 'V' | 'X')) {
        return false;
    }
    let shouting = |word: String| word == "I" || (word.chars().count() >= 2 && caps(&word));
    let before = {
        let mut k = i;
        while k > 0 && input[k - 1] == ' ' {
            k -= 1;
        }
        let end = k;
        while k > 0 && input[k - 1].is_alphabetic() {
            k -= 1;
        }
        (end < i).then(|| input[k..end].iter().collect::<String>())
    };
    let after = {
        let mut k = j;
        while input.at(k) == Some(' ') {
            k += 1;
        }
        let st = k;
        while input.at(k).is_some_and(char::is_alphabetic) {
            k += 1;
        }
        (st > j).then(|| input[st..k].iter().collect::<String>())
    };
    !(before.is_some_and(shouting) || after.is_some_and(shouting))
}

/// Whether whitespace then a capitalized word that is not a common sentence opener follows.
fn next_word_capitalized(input: &Input, k: usize) -> bool {
    let mut k = k;
    while input.at(k).is_some_and(|c| c == ' ' || c == '\t') {
        k += 1;
    }
    if !input.at(k).is_some_and(char::is_uppercase) {
        return false;
    }
    let st = k;
    while input.at(k).is_some_and(char::is_alphabetic) {
        k += 1;
    }
    let word: String = input[st..k].iter().collect();
    !SENTENCE_STARTERS.contains(&word.as_str())
}

/// Whether the word before position `i` (across spaces) is capitalized or a number.
fn prev_word_capitalized(input: &Input, i: usize) -> bool {
    let mut k = i;
    while k > 0 && input[k - 1] == ' ' {
        k -= 1;
    }
    if k == i || k == 0 {
        return false;
    }
    let mut st = k;
    while st > 0 && input[st - 1].is_alphanumeric() {
        st -= 1;
    }
    input[st].is_uppercase() || input[st].is_ascii_digit()
}
