//! Symbols read as words: symbol characters spelled out ("&" → "and", "½" → "one half"),
//! typographic quotes mapped to straight ones, the scale after a degree sign, and the unit
//! symbols read after a number ("km" → "kilometers").

use super::input::Input;

/// Units read after a number: (written, singular, plural, only when attached to the number).
pub(super) const UNITS: &[(&str, &str, &str, bool)] = &[
    ("km/h", "kilometer per hour", "kilometers per hour", false),
    ("m/s", "meter per second", "meters per second", false),
    ("mph", "mile per hour", "miles per hour", false),
    ("kph", "kilometer per hour", "kilometers per hour", false),
    ("kWh", "kilowatt hour", "kilowatt hours", false),
    ("km", "kilometer", "kilometers", false),
    ("cm", "centimeter", "centimeters", false),
    ("mm", "millimeter", "millimeters", false),
    ("mi", "mile", "miles", false),
    ("m", "meter", "meters", false),
    ("ft", "foot", "feet", false),
    ("yd", "yard", "yards", false),
    ("in", "inch", "inches", true),
    ("kg", "kilogram", "kilograms", false),
    ("mg", "milligram", "milligrams", false),
    ("g", "gram", "grams", false),
    ("lbs", "pound", "pounds", false),
    ("lb", "pound", "pounds", false),
    ("oz", "ounce", "ounces", false),
    ("ml", "milliliter", "milliliters", false),
    ("mL", "milliliter", "milliliters", false),
    ("l", "liter", "liters", false),
    ("L", "liter", "liters", false),
    ("ms", "millisecond", "milliseconds", false),
    ("secs", "second", "seconds", false),
    ("sec", "second", "seconds", false),
    ("mins", "minute", "minutes", false),
    ("min", "minute", "minutes", false),
    ("hrs", "hour", "hours", false),
    ("hr", "hour", "hours", false),
    ("h", "hour", "hours", false),
    ("KB", "kilobyte", "kilobytes", false),
    ("kB", "kilobyte", "kilobytes", false),
    ("MB", "megabyte", "megabytes", false),
    ("GB", "gigabyte", "gigabytes", false),
    ("TB", "terabyte", "terabytes", false),
    ("kHz", "kilohertz", "kilohertz", false),
    ("MHz", "megahertz", "megahertz", false),
    ("GHz", "gigahertz", "gigahertz", false),
    ("Hz", "hertz", "hertz", false),
    ("kW", "kilowatt", "kilowatts", false),
    ("W", "watt", "watts", false),
    ("V", "volt", "volts", false),
    ("x", "times", "times", true),
];

/// The words for a symbol that always reads the same, wherever it is.
pub(super) fn symbol_word(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "and",
        '@' => "at",
        '+' => "plus",
        '=' => "equals",
        '%' => "percent",
        '‰' => "per mille",
        '*' => "star",
        '/' => "slash",
        '\\' => "backslash",
        '~' => "about",
        '<' => "less than",
        '>' => "greater than",
        '_' => "underscore",
        '¢' => "cents",
        '×' => "times",
        '÷' => "divided by",
        '±' => "plus or minus",
        '≈' => "approximately",
        '≠' => "is not equal to",
        '≤' => "is less than or equal to",
        '≥' => "is greater than or equal to",
        '©' => "copyright",
        '®' => "registered",
        '™' => "trademark",
        '§' => "section",
        '²' => "squared",
        '³' => "cubed",
        _ => return None,
    })
}

/// The words for a vulgar fraction character ("½" → "one half").
pub(super) fn vulgar_fraction(c: char) -> Option<&'static str> {
    Some(match c {
        '½' => "one half",
        '¼' => "one quarter",
        '¾' => "three quarters",
        '⅓' => "one third",
        '⅔' => "two thirds",
        '⅛' => "one eighth",
        _ => return None,
    })
}

/// The straight quote for a typographic quote or prime.
pub(super) fn straight_quote(c: char) -> Option<char> {
    match c {
        '“' | '”' | '„' | '«' | '»' | '″' => Some('"'),
        '‘' | '’' | '‚' | '′' => Some('\''),
        _ => None,
    }
}

/// "C"/"F" at `k` (after a degree sign): the scale's name and how many characters it took.
pub(super) fn degree_scale(input: &Input, k: usize) -> (&'static str, usize) {
    match input.at(k) {
        Some('C') if input.boundary(k + 1) => ("Celsius", 1),
        Some('F') if input.boundary(k + 1) => ("Fahrenheit", 1),
        _ => ("", 0),
    }
}
