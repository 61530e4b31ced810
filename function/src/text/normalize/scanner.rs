//! The normalizer's single pass: it walks the input once, hands each position to the rule that
//! owns it (a numeric cluster, a currency amount, a minus sign, a leading decimal point, a
//! word, whitespace, a symbol) and carries the one piece of state between rules (the next
//! number is not a year).

use std::ops::Range;

use super::clusters;
use super::input::{is_line_break, Input};
use super::money::{currency, Currency};
use super::numbers::spell_digits;
use super::output::Out;
use super::symbols::{degree_scale, straight_quote, symbol_word, vulgar_fraction};
use super::words;

/// One step of the pass: the output bytes it wrote and the input characters it read.
pub(super) type Step = (Range<usize>, Range<usize>);

pub(super) struct Normalizer {
    input: Input,
    out: Out,
    /// The next number is not a year (after "#", "No.", a minus sign).
    no_year: bool,
}

impl Normalizer {
    pub(super) fn new(text: &str) -> Self {
        Normalizer {
            input: Input::new(text),
            out: Out::default(),
            no_year: false,
        }
    }

    /// Normalizes the whole input; returns the output text.
    pub(super) fn run(mut self) -> String {
        let mut i = 0;
        while i < self.input.len() {
            i = self.step(i);
        }
        self.out.into_string()
    }

    /// [`Self::run`], also returning for every step that wrote something the output bytes it
    /// wrote and the input characters it consumed (`(output, input)` ranges, in order). Whitespace
    /// and pauses held back by the output buffer are written by the step after them, so they
    /// count as that step's.
    pub(super) fn run_mapped(mut self) -> (String, Vec<Step>) {
        let mut steps = Vec::new();
        let mut i = 0;
        while i < self.input.len() {
            let written = self.out.len();
            let next = self.step(i);
            if self.out.len() > written {
                steps.push((written..self.out.len(), i..next));
            }
            i = next;
        }
        (self.out.into_string(), steps)
    }

    /// Handles the text at `i`; returns the index after what it consumed.
    fn step(&mut self, i: usize) -> usize {
        let c = self.input[i];
        let prev = if i > 0 { self.input.at(i - 1) } else { None };
        if c.is_ascii_digit() {
            return self.number(i, None);
        }
        if let Some(cur) = currency(c) {
            if self.input.digit_at(i + 1) {
                return self.number(i + 1, Some(cur));
            }
            if self.input.at(i + 1) == Some(' ') && self.input.digit_at(i + 2) {
                return self.number(i + 2, Some(cur));
            }
            self.out.word(cur.one);
            return i + 1;
        }
        let loose = prev.is_none_or(|p| !p.is_alphanumeric() && p != '.' && p != '-');
        if matches!(c, '-' | '−') && loose {
            let next = self.input.at(i + 1);
            let number_follows = self.input.digit_at(i + 1)
                || (next == Some('.') && self.input.digit_at(i + 2))
                || (next.and_then(currency).is_some() && self.input.digit_at(i + 2));
            if number_follows {
                self.out.word("minus");
                self.no_year = true;
                return i + 1;
            }
        }
        if c == '.'
            && self.input.digit_at(i + 1)
            && prev.is_none_or(|p| !p.is_alphanumeric() && p != '.')
        {
            let end = self.input.digits_end(i + 1);
            let digits: String = self.input[i + 1..end].iter().collect();
            self.out.word("point");
            self.out.word(&spell_digits(&digits));
            return end;
        }
        if matches!(c, '\'' | '’')
            && prev.is_none_or(|p| !p.is_alphanumeric())
            && self.input.digit_at(i + 1)
            && self.input.digit_at(i + 2)
            && self.input.at(i + 3) == Some('s')
            && self.input.boundary(i + 4)
        {
            return i + 1; // "'90s": the number reads "nineties".
        }
        if c.is_alphabetic() {
            return words::word(&self.input, &mut self.out, i, &mut self.no_year);
        }
        if c.is_whitespace() {
            self.out.gap(is_line_break(c));
            return i + 1;
        }
        self.symbol(i)
    }

    /// The numeric cluster at `start`, with the currency written before it if any.
    fn number(&mut self, start: usize, cur: Option<&'static Currency>) -> usize {
        let no_year = std::mem::take(&mut self.no_year);
        clusters::number(&self.input, &mut self.out, start, cur, no_year)
    }

    /// A character that is no digit, letter or whitespace.
    fn symbol(&mut self, i: usize) -> usize {
        let c = self.input[i];
        let next = self.input.at(i + 1);
        let prev_digit = i > 0 && self.input.digit_at(i - 1);
        if let Some(w) = symbol_word(c) {
            self.out.word(w);
            return i + 1;
        }
        if let Some(w) = vulgar_fraction(c) {
            if prev_digit {
                self.out.word("and");
            }
            self.out.word(w);
            return i + 1;
        }
        if let Some(q) = straight_quote(c) {
            self.out.raw(q);
            return i + 1;
        }
        match c {
            '#' => {
                if self.input.digit_at(i + 1) || (next == Some(' ') && self.input.digit_at(i + 2)) {
                    self.out.word("number");
                    self.no_year = true;
                } else {
                    self.out.word("hash");
                }
            }
            '°' => {
                let (unit, len) = degree_scale(&self.input, i + 1);
                self.out.word("degrees");
                self.out.word(unit);
                return i + 1 + len;
            }
            '…' => self.out.raw_str("..."),
            '—' | '―' | '(' | ')' | '[' | ']' | '{' | '}' => self.out.pause(),
            '–' | '-' => {
                let money_follows = next.and_then(currency).is_some() && self.input.digit_at(i + 2);
                if prev_digit && money_follows {
                    self.out.word("to");
                } else if c == '–' || next == Some('-') {
                    let mut k = i;
                    while matches!(self.input.at(k), Some('-' | '–')) {
                        k += 1;
                    }
                    self.out.pause();
                    return k;
                } else {
                    self.out.raw('-');
                }
            }
            other => self.out.raw(other),
        }
        i + 1
    }
}
