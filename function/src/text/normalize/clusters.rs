//! Numeric clusters in the text: digit runs joined by single separators ("1,234.5", "10:30",
//! "1999-2005", "12/25/2024", "555-0199"), what follows a cluster and changes its reading
//! (ordinal and decade endings, a m / p m, percent, currency, scale words, degrees, units), and
//! the words for the whole cluster with its currency and suffix.

use super::dates_times::{date_words, slash_date_words, time_words, MONTHS};
use super::input::Input;
use super::money::{amount, currency, Currency};
use super::numbers::{
    fraction_words, ordinal, pluralize, read_int, spell_digits, value, Num, MAX_PLAIN_DIGITS,
};
use super::output::Out;
use super::symbols::{degree_scale, UNITS};

/// One maximal run of digits and the separator before it.
struct Run {
    sep: Option<char>,
    digits: String,
}

/// What a dash-free group of runs is.
enum Part {
    Num(Num),
    Time(usize, usize, Option<usize>),
    Fraction(String, String),
    SlashDate(String, String, String),
    Dotted(Vec<String>),
    Other(Vec<Run>),
}

fn parse_part(runs: Vec<Run>) -> Part {
    let seps: Vec<char> = runs.iter().skip(1).filter_map(|r| r.sep).collect();
    let digits = |i: usize| runs[i].digits.clone();
    match seps.as_slice() {
        [] => {
            return Part::Num(Num {
                int: digits(0),
                frac: None,
                grouped: false,
            })
        }
        ['.'] => {
            return Part::Num(Num {
                int: digits(0),
                frac: Some(digits(1)),
                grouped: false,
            })
        }
        ['/'] => return Part::Fraction(digits(0), digits(1)),
        ['/', '/'] => return Part::SlashDate(digits(0), digits(1), digits(2)),
        [':', ':'] | [':'] => {
            let h = &runs[0].digits;
            let ok = |d: &str| d.len() == 2 && value(d).is_some_and(|v| v < 60);
            if h.len() <= 2
                && value(h).is_some_and(|v| v < 24)
                && runs[1..].iter().all(|r| ok(&r.digits))
            {
                return Part::Time(
                    value(h).unwrap_or(0),
                    value(&runs[1].digits).unwrap_or(0),
                    runs.get(2).and_then(|r| value(&r.digits)),
                );
            }
        }
        s if s.len() >= 2 && s.iter().all(|&c| c == '.') => {
            return Part::Dotted(runs.into_iter().map(|r| r.digits).collect())
        }
        _ => {}
    }
    // Thousands separators: 1–3 leading digits, then groups of exactly three, maybe a decimal.
    let commas = seps.iter().take_while(|&&c| c == ',').count();
    let rest = &seps[commas..];
    let grouped_ok = commas > 0
        && (rest.is_empty() || rest == ['.'])
        && (1..=3).contains(&runs[0].digits.len())
        && !runs[0].digits.starts_with('0')
        && runs[1..=commas].iter().all(|r| r.digits.len() == 3);
    if grouped_ok {
        let int: String = runs[..=commas].iter().map(|r| r.digits.as_str()).collect();
        let frac = runs.get(commas + 1).map(|r| r.digits.clone());
        return Part::Num(Num {
            int,
            frac,
            grouped: true,
        });
    }
    Part::Other(runs)
}

/// What follows a number and changes how it is read.
enum Suffix {
    None,
    Ordinal(String),
    Decade,
    Percent,
    PerMille,
    Unit(&'static str, &'static str),
    Currency(&'static Currency),
    Cents,
    AmPm(&'static str, bool),
    Degrees(&'static str),
    Scale(&'static str),
}

/// Reads the numeric cluster starting at `start` (a digit), with an optional currency symbol
/// before it, into `out`; `no_year` when it must not be read as a year (after "#", "No.", a
/// minus sign). Returns the index after everything consumed.
pub(super) fn number(
    input: &Input,
    out: &mut Out,
    start: usize,
    cur: Option<&'static Currency>,
    no_year: bool,
) -> usize {
    // The cluster: digit runs joined by single separators that are followed by a digit.
    let mut runs: Vec<Run> = Vec::new();
    let mut k = start;
    let mut sep = None;
    loop {
        let end = input.digits_end(k);
        runs.push(Run {
            sep,
            digits: input[k..end].iter().collect(),
        });
        k = end;
        match input.at(k) {
            Some(s @ (',' | '.' | ':' | '/' | '-' | '–')) if input.digit_at(k + 1) => {
                sep = Some(s);
                k += 1;
            }
            _ => break,
        }
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut group: Vec<Run> = Vec::new();
    for run in runs {
        if matches!(run.sep, Some('-' | '–')) {
            parts.push(parse_part(std::mem::take(&mut group)));
            group.push(Run {
                sep: None,
                digits: run.digits,
            });
        } else {
            group.push(run);
        }
    }
    parts.push(parse_part(group));

    let (suffix, after) = suffix(input, k, &parts, cur.is_some());
    let allow_year = cur.is_none() && !no_year && matches!(suffix, Suffix::None);
    let text = compose(input, out, start, &parts, cur, &suffix, allow_year);
    out.word(&text);
    if let Suffix::AmPm(_, true) = suffix {
        if input.ends_sentence(after) {
            out.raw('.');
        }
    }
    after
}

/// Detects what follows the number at `k`; returns it and the index after it.
fn suffix(input: &Input, k: usize, parts: &[Part], has_currency: bool) -> (Suffix, usize) {
    let last = match parts.last() {
        Some(p) => p,
        None => return (Suffix::None, k),
    };
    let single_int = match (parts.len(), last) {
        (1, Part::Num(n)) if n.frac.is_none() && !n.grouped => Some(n.int.as_str()),
        _ => None,
    };
    let is_num = matches!(last, Part::Num(_));
    let is_time = matches!(last, Part::Time(..));
    let is_frac = matches!(last, Part::Fraction(..));
    let sp = usize::from(input.at(k) == Some(' '));

    if let Some(int) = single_int {
        for suf in ["st", "nd", "rd", "th"] {
            if input.matches_ignore_case(k, suf) && input.boundary(k + 2) {
                let written: String = input[k..k + 2].iter().collect();
                return (Suffix::Ordinal(written), k + 2);
            }
        }
        let decade = int.ends_with('0') && !int.starts_with('0') && (2..=4).contains(&int.len());
        if decade && input.at(k) == Some('s') && input.boundary(k + 1) {
            return (Suffix::Decade, k + 1);
        }
        if decade
            && matches!(input.at(k), Some('\'' | '’'))
            && input.at(k + 1) == Some('s')
            && input.boundary(k + 2)
        {
            return (Suffix::Decade, k + 2);
        }
    }
    if is_num || is_time {
        let small = single_int
            .and_then(value)
            .is_some_and(|v| (1..=12).contains(&v));
        if is_time || small {
            for (written, spoken, dotted) in [
                ("a.m.", "a m", true),
                ("p.m.", "p m", true),
                ("am", "a m", false),
                ("pm", "p m", false),
            ] {
                let at = k + sp;
                if input.matches_ignore_case(at, written) && input.word_end(at + written.len()) {
                    return (Suffix::AmPm(spoken, dotted), at + written.len());
                }
            }
        }
    }
    if is_num || is_frac {
        if input.at(k + sp) == Some('%') {
            return (Suffix::Percent, k + sp + 1);
        }
        if input.at(k + sp) == Some('‰') {
            return (Suffix::PerMille, k + sp + 1);
        }
    }
    if !is_num && !is_frac {
        return (Suffix::None, k);
    }
    if is_num {
        if has_currency {
            for (written, scale) in [
                ("thousand", "thousand"),
                ("million", "million"),
                ("billion", "billion"),
                ("trillion", "trillion"),
            ] {
                if sp == 1 && input.matches(k + 1, written) && input.boundary(k + 1 + written.len())
                {
                    return (Suffix::Scale(scale), k + 1 + written.len());
                }
            }
            for (written, scale) in [
                ("bn", "billion"),
                ("k", "thousand"),
                ("K", "thousand"),
                ("m", "million"),
                ("M", "million"),
                ("b", "billion"),
                ("B", "billion"),
                ("T", "trillion"),
            ] {
                if input.matches(k, written) && input.boundary(k + written.len()) {
                    return (Suffix::Scale(scale), k + written.len());
                }
            }
        } else {
            if let Some(cur) = input.at(k + sp).and_then(currency) {
                if !input.digit_at(k + sp + 1) {
                    return (Suffix::Currency(cur), k + sp + 1);
                }
            }
            if input.at(k + sp) == Some('¢') {
                return (Suffix::Cents, k + sp + 1);
            }
        }
        if input.at(k + sp) == Some('°') {
            let (scale, len) = degree_scale(input, k + sp + 1);
            return (Suffix::Degrees(scale), k + sp + 1 + len);
        }
    }
    for &(written, one, many, attached) in UNITS {
        if attached && sp == 1 {
            continue;
        }
        let at = k + sp;
        if input.matches(at, written) && input.boundary(at + written.chars().count()) {
            return (Suffix::Unit(one, many), at + written.chars().count());
        }
    }
    (Suffix::None, k)
}

/// Words for a whole cluster with its currency and suffix (`out` is what was written before it).
fn compose(
    input: &Input,
    out: &Out,
    start: usize,
    parts: &[Part],
    cur: Option<&'static Currency>,
    suffix: &Suffix,
    allow_year: bool,
) -> String {
    let nums: Vec<&Num> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Num(n) => Some(n),
            _ => None,
        })
        .collect();
    let all_nums = nums.len() == parts.len();
    let plain = |n: &Num| !n.grouped && n.frac.is_none();

    // Whole-cluster shapes first.
    if all_nums && parts.len() == 3 && cur.is_none() && nums.iter().all(|n| plain(n)) {
        let (y, m, d) = (&nums[0].int, &nums[1].int, &nums[2].int);
        if y.len() == 4 && m.len() == 2 && d.len() == 2 {
            if let Some(date) = date_words(m, d, y) {
                return date;
            }
        }
    }
    let phone = all_nums
        && parts.len() >= 2
        && nums.iter().all(|n| plain(n))
        && (parts.len() >= 3
            || nums
                .iter()
                .any(|n| n.int.len() > 1 && n.int.starts_with('0'))
            || (nums[0].int.len() == 3 && nums[1].int.len() == 4));
    if phone && cur.is_none() {
        return nums
            .iter()
            .map(|n| spell_digits(&n.int))
            .collect::<Vec<_>>()
            .join(", ");
    }

    let last = parts.len() - 1;
    let mut pieces: Vec<String> = Vec::new();
    for (idx, part) in parts.iter().enumerate() {
        let is_last = idx == last;
        let piece = match part {
            Part::Num(n) if is_last => {
                num_with_suffix(input, out, start, n, cur, suffix, allow_year)
            }
            Part::Num(n) => n.read(allow_year),
            Part::Time(h, m, s) => {
                let ampm = match suffix {
                    Suffix::AmPm(w, _) if is_last => Some(*w),
                    _ => None,
                };
                time_words(*h, *m, *s, ampm)
            }
            Part::Fraction(a, b) => {
                let mixed =
                    start >= 2 && input.at(start - 1) == Some(' ') && input.digit_at(start - 2);
                let mut w = fraction_words(a, b);
                let proper = matches!((value(a), value(b)), (Some(x), Some(y)) if x < y);
                if mixed && idx == 0 && proper {
                    w = format!("and {w}");
                }
                match suffix {
                    Suffix::Percent if is_last => format!("{w} percent"),
                    Suffix::Unit(_, many) if is_last => format!("{w} {many}"),
                    _ => w,
                }
            }
            Part::SlashDate(a, b, c) => slash_date_words(a, b, c),
            Part::Dotted(groups) => groups
                .iter()
                .map(|g| read_int(g, false, false))
                .collect::<Vec<_>>()
                .join(" dot "),
            Part::Other(runs) => {
                let mut s = String::new();
                for r in runs {
                    match r.sep {
                        Some(',') => s.push_str(", "),
                        Some(':') => s.push_str(": "),
                        Some('.') => s.push_str(" dot "),
                        Some('/') => s.push_str(" slash "),
                        Some(_) => s.push(' '),
                        None => {}
                    }
                    s.push_str(&read_int(&r.digits, false, false));
                }
                s
            }
        };
        pieces.push(piece);
    }
    let mut text = pieces.join(if parts.len() == 2 { " to " } else { ", " });
    if let Some(cur) = cur {
        // Currency before something that is not a simple amount or range of amounts.
        if !matches!(parts.last(), Some(Part::Num(_))) {
            text = format!("{} {text}", cur.many);
        }
    }
    text
}

/// Words for the last number of a cluster with its currency and suffix.
fn num_with_suffix(
    input: &Input,
    out: &Out,
    start: usize,
    n: &Num,
    cur: Option<&'static Currency>,
    suffix: &Suffix,
    allow_year: bool,
) -> String {
    if let Some(cur) = cur {
        let scale = match suffix {
            Suffix::Scale(s) => Some(*s),
            _ => None,
        };
        let mut w = amount(n, cur, scale);
        if let Suffix::Unit(_, many) = suffix {
            w = format!("{w} {many}");
        }
        return w;
    }
    let plural = |one: &str, many: &str| {
        if n.is_one() {
            one.to_string()
        } else {
            many.to_string()
        }
    };
    match suffix {
        Suffix::Ordinal(written) => {
            let card = n.read(false);
            let spelled =
                n.int.len() > MAX_PLAIN_DIGITS || (n.int.len() > 1 && n.int.starts_with('0'));
            if spelled {
                format!("{card} {}", written.to_lowercase())
            } else {
                ordinal(&card)
            }
        }
        Suffix::Decade => pluralize(&n.read(true)),
        Suffix::Percent => format!("{} percent", n.read(false)),
        Suffix::PerMille => format!("{} per mille", n.read(false)),
        Suffix::Unit(one, many) => format!("{} {}", n.read(false), plural(one, many)),
        Suffix::Currency(cur) => amount(n, cur, None),
        Suffix::Cents => format!("{} {}", n.read(false), plural("cent", "cents")),
        Suffix::AmPm(w, _) => format!("{} {w}", n.read(false)),
        Suffix::Degrees(scale) => {
            let d = plural("degree", "degrees");
            if scale.is_empty() {
                format!("{} {d}", n.read(false))
            } else {
                format!("{} {d} {scale}", n.read(false))
            }
        }
        Suffix::Scale(s) => format!("{} {s}", n.read(false)),
        Suffix::None => {
            // "May 5" → "May fifth".
            let after_month =
                start > 0 && input.at(start - 1) == Some(' ') && MONTHS.contains(&out.last_word());
            let day = n.plain_value().is_some_and(|v| (1..=31).contains(&v));
            if after_month && day && !n.int.starts_with('0') {
                ordinal(&n.read(false))
            } else {
                n.read(allow_year)
            }
        }
    }
}
