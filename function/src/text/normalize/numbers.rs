//! Number words from ASCII digit strings: cardinals, ordinals, four-digit years, digit-by-digit
//! readings, plurals of number words ("the nineties") and fractions ("three quarters"); and
//! `Num`, a plain or decimal number as written in text, with its reading.
//!
//! Pure functions over strings; knows nothing of the text around a number.

pub(super) const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [&str; 7] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
];

/// Plain digit strings longer than this are read digit by digit.
pub(super) const MAX_PLAIN_DIGITS: usize = 15;
/// Comma-grouped numbers longer than this (in digits) are read digit by digit.
const MAX_GROUPED_DIGITS: usize = 21;

pub(super) fn below_100(n: usize) -> String {
    if n < 20 {
        ONES[n].to_string()
    } else if n.is_multiple_of(10) {
        TENS[n / 10].to_string()
    } else {
        format!("{}-{}", TENS[n / 10], ONES[n % 10])
    }
}

fn below_1000(n: usize) -> String {
    let (h, rest) = (n / 100, n % 100);
    match (h, rest) {
        (0, r) => below_100(r),
        (h, 0) => format!("{} hundred", ONES[h]),
        (h, r) => format!("{} hundred {}", ONES[h], below_100(r)),
    }
}

/// Cardinal words for ASCII digits (at most `MAX_GROUPED_DIGITS` significant digits).
fn cardinal(digits: &str) -> String {
    let d = digits.trim_start_matches('0');
    if d.is_empty() {
        return "zero".to_string();
    }
    let bytes = d.as_bytes();
    let groups = bytes.len().div_ceil(3);
    let first = bytes.len() - (groups - 1) * 3;
    let mut words: Vec<String> = Vec::new();
    let mut start = 0;
    for g in 0..groups {
        let end = if g == 0 { first } else { start + 3 };
        let value = bytes[start..end]
            .iter()
            .fold(0usize, |acc, b| acc * 10 + usize::from(b - b'0'));
        let scale = SCALES.get(groups - 1 - g).copied().unwrap_or("");
        if value != 0 {
            words.push(below_1000(value));
            if !scale.is_empty() {
                words.push(scale.to_string());
            }
        }
        start = end;
    }
    words.join(" ")
}

/// Each digit as a word: "007" → "zero zero seven".
pub(super) fn spell_digits(digits: &str) -> String {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| ONES[usize::from(b - b'0')])
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of at most nine digits.
pub(super) fn value(digits: &str) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// A four-digit year 1100–2099 as spoken: "nineteen ninety-nine", "two thousand five".
pub(super) fn year(digits: &str) -> Option<String> {
    if digits.len() != 4 {
        return None;
    }
    let y = value(digits)?;
    if !(1100..=2099).contains(&y) {
        return None;
    }
    let (hi, lo) = (y / 100, y % 100);
    Some(match (hi, lo) {
        (20, 0) => "two thousand".to_string(),
        (20, 1..=9) => format!("two thousand {}", ONES[lo]),
        (_, 0) => format!("{} hundred", below_100(hi)),
        (_, 1..=9) => format!("{} oh {}", below_100(hi), ONES[lo]),
        _ => format!("{} {}", below_100(hi), below_100(lo)),
    })
}

/// An integer's digits (no separators) as words: digit by digit when it has a leading zero or
/// is too long, as a year when `allow_year` and it looks like one, else as a cardinal.
pub(super) fn read_int(digits: &str, grouped: bool, allow_year: bool) -> String {
    let limit = if grouped {
        MAX_GROUPED_DIGITS
    } else {
        MAX_PLAIN_DIGITS
    };
    if (digits.len() > 1 && digits.starts_with('0')) || digits.len() > limit || digits.is_empty() {
        return spell_digits(digits);
    }
    if allow_year && !grouped {
        if let Some(y) = year(digits) {
            return y;
        }
    }
    cardinal(digits)
}

/// Turns the last word of a cardinal into its ordinal: "twenty-three" → "twenty-third".
pub(super) fn ordinal(cardinal: &str) -> String {
    let cut = cardinal.rfind([' ', '-']).map_or(0, |i| i + 1);
    let (head, last) = cardinal.split_at(cut);
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

/// Plural of the last word: "nineteen ninety" → "nineteen nineties".
pub(super) fn pluralize(words: &str) -> String {
    match words.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None if words.ends_with('x') => format!("{words}es"),
        None => format!("{words}s"),
    }
}

/// "a/b" as words: a fraction ("one half", "five eighths") when it looks like one, else
/// "a slash b".
pub(super) fn fraction_words(a: &str, b: &str) -> String {
    if a == "24" && b == "7" {
        return "twenty-four seven".to_string();
    }
    let num = read_int(a, false, false);
    let den = read_int(b, false, false);
    let leading_zero = |s: &str| s.len() > 1 && s.starts_with('0');
    let (va, vb) = (value(a), value(b));
    let fraction = match (va, vb) {
        (Some(x), Some(y)) => (2..=10).contains(&y) || (x < y && y <= 100),
        _ => false,
    };
    if !fraction || leading_zero(a) || leading_zero(b) {
        return format!("{num} slash {den}");
    }
    let one = va == Some(1);
    let den_word = match (vb, one) {
        (Some(2), true) => "half".to_string(),
        (Some(2), false) => "halves".to_string(),
        (Some(4), true) => "quarter".to_string(),
        (Some(4), false) => "quarters".to_string(),
        (_, true) => ordinal(&den),
        (_, false) => format!("{}s", ordinal(&den)),
    };
    format!("{num} {den_word}")
}

/// A simple number: integer digits (separators removed) and optional decimal digits.
pub(super) struct Num {
    pub(super) int: String,
    pub(super) frac: Option<String>,
    /// Written with thousands separators.
    pub(super) grouped: bool,
}

impl Num {
    pub(super) fn is_one(&self) -> bool {
        self.int == "1" && self.frac.is_none()
    }

    pub(super) fn read(&self, allow_year: bool) -> String {
        let int = read_int(&self.int, self.grouped, allow_year && self.frac.is_none());
        match &self.frac {
            Some(f) => format!("{int} point {}", spell_digits(f)),
            None => int,
        }
    }

    /// The value of an integer of at most nine digits.
    pub(super) fn plain_value(&self) -> Option<usize> {
        if self.frac.is_some() {
            return None;
        }
        value(&self.int)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_words_cover_the_scales() {
        assert_eq!(cardinal("1000000000000"), "one trillion");
        assert_eq!(
            cardinal("999999999999999999999"),
            "nine hundred ninety-nine quintillion nine hundred ninety-nine quadrillion \
             nine hundred ninety-nine trillion nine hundred ninety-nine billion \
             nine hundred ninety-nine million nine hundred ninety-nine thousand \
             nine hundred ninety-nine"
        );
        assert_eq!(ordinal("twenty"), "twentieth");
        assert_eq!(ordinal("one hundred"), "one hundredth");
    }
}
