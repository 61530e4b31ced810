//! Dates and clock times as words: month names, ISO dates ("2024-05-01"), slashed dates
//! ("12/25/2024", day or month first) and times of day ("10:30", "1:02:03", with a m / p m).

use super::numbers::{below_100, ordinal, read_int, value, year, ONES};

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Month day-th, year" when the month and day are valid.
pub(super) fn date_words(month: &str, day: &str, year_digits: &str) -> Option<String> {
    let m = value(month)?;
    let d = value(day)?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if year_digits.len() == 4 {
        year(year_digits).unwrap_or_else(|| read_int(year_digits, false, false))
    } else {
        read_int(year_digits, false, false)
    };
    Some(format!("{} {}, {y}", MONTHS[m - 1], ordinal(&below_100(d))))
}

/// "a/b/c": a date (month first, else day first) when it can be one, else the three numbers
/// joined by "slash".
pub(super) fn slash_date_words(a: &str, b: &str, c: &str) -> String {
    let (va, vb) = (value(a).unwrap_or(0), value(b).unwrap_or(0));
    let date = if c.len() == 4 || c.len() == 2 {
        if va <= 12 {
            date_words(a, b, c)
        } else if vb <= 12 {
            date_words(b, a, c)
        } else {
            None
        }
    } else {
        None
    };
    date.unwrap_or_else(|| {
        [a, b, c]
            .iter()
            .map(|g| read_int(g, false, false))
            .collect::<Vec<_>>()
            .join(" slash ")
    })
}

/// A time of day: hours, minutes, optional seconds, optional spoken "a m" / "p m".
pub(super) fn time_words(h: usize, m: usize, s: Option<usize>, ampm: Option<&str>) -> String {
    let hour = below_100(h);
    let mut t = match m {
        0 if ampm.is_some() => hour,
        0 if (1..=12).contains(&h) => format!("{hour} o'clock"),
        0 => format!("{hour} hundred"),
        1..=9 => format!("{hour} oh {}", ONES[m]),
        _ => format!("{hour} {}", below_100(m)),
    };
    if let Some(s) = s.filter(|&s| s > 0) {
        let unit = if s == 1 { "second" } else { "seconds" };
        t = format!("{t} and {} {unit}", below_100(s));
    }
    if let Some(w) = ampm {
        t = format!("{t} {w}");
    }
    t
}
