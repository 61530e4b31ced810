//! Money: the currency symbols that are read ($ € £ ¥ ₹) with their unit words, and amounts in
//! them ("$3.50" → "three dollars and fifty cents", "$5k" → "five thousand dollars").

use super::numbers::{below_100, read_int, value, Num};

/// A currency symbol and its words.
pub(super) struct Currency {
    symbol: char,
    pub(super) one: &'static str,
    pub(super) many: &'static str,
    /// The hundredth unit (singular, plural), if amounts are written with two decimals.
    sub: Option<(&'static str, &'static str)>,
}

const CURRENCIES: [Currency; 5] = [
    Currency {
        symbol: '$',
        one: "dollar",
        many: "dollars",
        sub: Some(("cent", "cents")),
    },
    Currency {
        symbol: '€',
        one: "euro",
        many: "euros",
        sub: Some(("cent", "cents")),
    },
    Currency {
        symbol: '£',
        one: "pound",
        many: "pounds",
        sub: Some(("penny", "pence")),
    },
    Currency {
        symbol: '¥',
        one: "yen",
        many: "yen",
        sub: None,
    },
    Currency {
        symbol: '₹',
        one: "rupee",
        many: "rupees",
        sub: Some(("paisa", "paise")),
    },
];

/// The currency whose symbol is `c`.
pub(super) fn currency(c: char) -> Option<&'static Currency> {
    CURRENCIES.iter().find(|cur| cur.symbol == c)
}

/// An amount of `cur` as words, with a scale word ("million") written after the number if any.
pub(super) fn amount(n: &Num, cur: &Currency, scale: Option<&str>) -> String {
    if let Some(scale) = scale {
        return format!("{} {scale} {}", n.read(false), cur.many);
    }
    let unit = if n.is_one() { cur.one } else { cur.many };
    match (&n.frac, cur.sub) {
        (Some(f), Some((sub_one, sub_many))) if f.len() == 2 => {
            let cents = value(f).unwrap_or(0);
            let int_zero = n.int.bytes().all(|b| b == b'0');
            let whole = read_int(&n.int, n.grouped, false);
            let whole_unit = if n.int == "1" { cur.one } else { cur.many };
            let sub = if cents == 1 { sub_one } else { sub_many };
            match (int_zero, cents) {
                (true, 0) => format!("zero {}", cur.many),
                (true, c) => format!("{} {sub}", below_100(c)),
                (false, 0) => format!("{whole} {whole_unit}"),
                (false, c) => format!("{whole} {whole_unit} and {} {sub}", below_100(c)),
            }
        }
        _ => format!("{} {unit}", n.read(false)),
    }
}
