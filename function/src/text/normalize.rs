//! English text normalization before the character tokenizer.
//!
//! Owns: turning every ASCII digit into words (cardinals, ordinals, years, decimals, money,
//! percentages, fractions, times, ranges, dates, phone-like digit strings), spelling out symbols
//! and common abbreviations, mapping typographic punctuation to the few marks SpeechT5's
//! tokenizer knows, and collapsing whitespace. Nothing the user wrote is silently dropped:
//! unknown symbols (emoji, other scripts) pass through unchanged.
//!
//! Pure functions over strings, linear in the input; must not import OpenVINO or HTTP code.

const ONES: [&str; 20] = [
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
const MONTHS: [&str; 12] = [
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

/// Plain digit strings longer than this are read digit by digit.
const MAX_PLAIN_DIGITS: usize = 15;
/// Comma-grouped numbers longer than this (in digits) are read digit by digit.
const MAX_GROUPED_DIGITS: usize = 21;

/// A currency symbol and its words.
struct Currency {
    symbol: char,
    one: &'static str,
    many: &'static str,
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

fn currency(c: char) -> Option<&'static Currency> {
    CURRENCIES.iter().find(|cur| cur.symbol == c)
}

/// Units read after a number: (written, singular, plural, only when attached to the number).
const UNITS: &[(&str, &str, &str, bool)] = &[
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

/// How an abbreviation followed by a period is read.
#[derive(Clone, Copy, PartialEq)]
enum Abbr {
    /// A title before a name: the period is always dropped.
    Title,
    /// May end a sentence: the period is kept when a sentence seems to end there.
    Tail,
    /// Only expanded before a number ("No. 5").
    BeforeNumber,
    /// "St.": Saint before a name, Street otherwise.
    SaintOrStreet,
    /// "Dr.": Doctor before a name, Drive after one.
    DoctorOrDrive,
}

/// Abbreviations written with a period. Lowercase entries also match when capitalized.
const ABBREVIATIONS: &[(&str, &str, Abbr)] = &[
    ("Mr", "Mister", Abbr::Title),
    ("Mrs", "Missus", Abbr::Title),
    ("Ms", "Miz", Abbr::Title),
    ("Prof", "Professor", Abbr::Title),
    ("Dr", "Doctor", Abbr::DoctorOrDrive),
    ("St", "Saint", Abbr::SaintOrStreet),
    ("Mt", "Mount", Abbr::Title),
    ("Capt", "Captain", Abbr::Title),
    ("Lt", "Lieutenant", Abbr::Title),
    ("Sgt", "Sergeant", Abbr::Title),
    ("Gen", "General", Abbr::Title),
    ("Gov", "Governor", Abbr::Title),
    ("Sen", "Senator", Abbr::Title),
    ("Rev", "Reverend", Abbr::Title),
    ("Jr", "Junior", Abbr::Tail),
    ("Sr", "Senior", Abbr::Tail),
    ("vs", "versus", Abbr::Tail),
    ("etc", "et cetera", Abbr::Tail),
    ("Inc", "Incorporated", Abbr::Tail),
    ("Ltd", "Limited", Abbr::Tail),
    ("Co", "Company", Abbr::Tail),
    ("Corp", "Corporation", Abbr::Tail),
    ("Bros", "Brothers", Abbr::Tail),
    ("Ave", "Avenue", Abbr::Tail),
    ("Blvd", "Boulevard", Abbr::Tail),
    ("Rd", "Road", Abbr::Tail),
    ("approx", "approximately", Abbr::Tail),
    ("dept", "department", Abbr::Tail),
    ("fig", "figure", Abbr::Tail),
    ("vol", "volume", Abbr::Tail),
    ("Jan", "January", Abbr::Tail),
    ("Feb", "February", Abbr::Tail),
    ("Mar", "March", Abbr::Tail),
    ("Apr", "April", Abbr::Tail),
    ("Jun", "June", Abbr::Tail),
    ("Jul", "July", Abbr::Tail),
    ("Aug", "August", Abbr::Tail),
    ("Sep", "September", Abbr::Tail),
    ("Sept", "September", Abbr::Tail),
    ("Oct", "October", Abbr::Tail),
    ("Nov", "November", Abbr::Tail),
    ("Dec", "December", Abbr::Tail),
    ("no", "number", Abbr::BeforeNumber),
];

/// Titles also expanded without a period when a capitalized name follows ("Mr Smith").
const BARE_TITLES: &[(&str, &str)] = &[
    ("Mr", "Mister"),
    ("Mrs", "Missus"),
    ("Ms", "Miz"),
    ("Dr", "Doctor"),
    ("Prof", "Professor"),
    ("St", "Saint"),
];

/// Capitalized words that usually start a sentence rather than a name ("Main St. Then …").
const SENTENCE_STARTERS: &[&str] = &[
    "The", "Then", "It", "I", "We", "He", "She", "They", "This", "That", "There", "A", "An", "In",
    "On", "At", "But", "And", "So", "You", "My", "Our", "Its",
];

/// All-caps words read as words rather than letter by letter.
const SPOKEN_ACRONYMS: &[&str] = &[
    "NASA", "NATO", "LASER", "RADAR", "SCUBA", "AIDS", "COVID", "FIFA", "OPEC", "GIF", "JPEG",
    "PIN", "ZIP", "SIM", "RAM", "ROM", "CAD", "UNIX", "LAN", "WAN", "SWAT", "NASDAQ", "ASCII",
];

/// Normalizes English text for the SpeechT5 character tokenizer.
///
/// Every ASCII digit becomes words; symbols and common abbreviations are spelled out; sentence
/// punctuation is kept; em/en dashes and brackets become comma pauses; curly quotes become
/// straight ones; runs of whitespace become one space, or one newline when they contain a line
/// break; the result is trimmed. Characters it has no rule for (emoji, other scripts) are kept.
/// Never panics; time is linear in the input.
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut n = Normalizer {
        c: &chars,
        out: Out::default(),
        no_year: false,
    };
    n.run();
    n.out.s
}

// ---------------------------------------------------------------------------------------------
// Number words

fn below_100(n: usize) -> String {
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
fn spell_digits(digits: &str) -> String {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| ONES[usize::from(b - b'0')])
        .collect::<Vec<_>>()
        .join(" ")
}

fn value(digits: &str) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// A four-digit year 1100–2099 as spoken: "nineteen ninety-nine", "two thousand five".
fn year(digits: &str) -> Option<String> {
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
fn read_int(digits: &str, grouped: bool, allow_year: bool) -> String {
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
fn ordinal(cardinal: &str) -> String {
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
fn pluralize(words: &str) -> String {
    match words.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None if words.ends_with('x') => format!("{words}es"),
        None => format!("{words}s"),
    }
}

// ---------------------------------------------------------------------------------------------
// Output with lazy whitespace and pauses

#[derive(Clone, Copy, PartialEq, Default)]
enum Gap {
    #[default]
    None,
    Space,
    Newline,
}

/// The output text. Whitespace and comma pauses are held back until the next character is
/// known, so that they collapse, never lead or trail, and never double real punctuation.
#[derive(Default)]
struct Out {
    s: String,
    gap: Gap,
    pause: bool,
    /// The last thing written was a generated word (so a following letter needs a space).
    generated: bool,
}

fn is_stop(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | ':' | '!' | '?')
}

impl Out {
    fn gap(&mut self, newline: bool) {
        if newline {
            self.gap = Gap::Newline;
        } else if self.gap == Gap::None {
            self.gap = Gap::Space;
        }
    }

    fn pause(&mut self) {
        self.pause = true;
    }

    fn settle(&mut self, next: char, word: bool) {
        let Some(last) = self.s.chars().next_back() else {
            self.gap = Gap::None;
            self.pause = false;
            return;
        };
        if self.pause {
            self.pause = false;
            if is_stop(next) && self.gap == Gap::None {
                // The pause gives way to the punctuation, but must not glue a letter after a
                // period to it ("e.g.k—." must not become the initials "e.g.k.").
                let mut tail = self.s.chars().rev();
                if tail.next().is_some_and(char::is_alphabetic) && tail.next() == Some('.') {
                    self.gap = Gap::Space;
                }
            }
            if !is_stop(next) {
                if self.gap != Gap::Newline && !is_stop(last) && !matches!(last, '-' | '"' | '\'') {
                    self.s.push(',');
                }
                if self.gap == Gap::None {
                    self.gap = Gap::Space;
                }
            }
        }
        match self.gap {
            Gap::Space => self.s.push(' '),
            Gap::Newline => self.s.push('\n'),
            Gap::None => {
                // Generated words are kept apart from letters and digits only, so text the
                // user glued together ("3..5", "(5)") stays glued.
                if (word && last.is_alphanumeric()) || (self.generated && next.is_alphanumeric()) {
                    self.s.push(' ');
                }
            }
        }
        self.gap = Gap::None;
    }

    fn raw(&mut self, c: char) {
        self.settle(c, false);
        self.s.push(c);
        self.generated = false;
    }

    fn raw_str(&mut self, s: &str) {
        for c in s.chars() {
            self.raw(c);
        }
    }

    fn word(&mut self, w: &str) {
        let Some(first) = w.chars().next() else {
            return;
        };
        self.settle(first, true);
        self.s.push_str(w);
        self.generated = true;
    }

    /// The last word written, if it is directly followed by pending whitespace.
    fn last_word(&self) -> &str {
        let t = self.s.trim_end();
        let start = t
            .rfind(|c: char| !c.is_alphabetic())
            .map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
        &t[start..]
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// One maximal run of digits and the separator before it.
struct Run {
    sep: Option<char>,
    digits: String,
}

/// A simple number: integer digits (separators removed) and optional decimal digits.
struct Num {
    int: String,
    frac: Option<String>,
    grouped: bool,
}

impl Num {
    fn is_one(&self) -> bool {
        self.int == "1" && self.frac.is_none()
    }

    fn read(&self, allow_year: bool) -> String {
        let int = read_int(&self.int, self.grouped, allow_year && self.frac.is_none());
        match &self.frac {
            Some(f) => format!("{int} point {}", spell_digits(f)),
            None => int,
        }
    }

    fn money(&self, cur: &Currency, scale: Option<&str>) -> String {
        if let Some(scale) = scale {
            return format!("{} {scale} {}", self.read(false), cur.many);
        }
        let unit = if self.is_one() { cur.one } else { cur.many };
        match (&self.frac, cur.sub) {
            (Some(f), Some((sub_one, sub_many))) if f.len() == 2 => {
                let cents = value(f).unwrap_or(0);
                let int_zero = self.int.bytes().all(|b| b == b'0');
                let whole = read_int(&self.int, self.grouped, false);
                let whole_unit = if self.int == "1" { cur.one } else { cur.many };
                let sub = if cents == 1 { sub_one } else { sub_many };
                match (int_zero, cents) {
                    (true, 0) => format!("zero {}", cur.many),
                    (true, c) => format!("{} {sub}", below_100(c)),
                    (false, 0) => format!("{whole} {whole_unit}"),
                    (false, c) => format!("{whole} {whole_unit} and {} {sub}", below_100(c)),
                }
            }
            _ => format!("{} {unit}", self.read(false)),
        }
    }
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

struct Normalizer<'a> {
    c: &'a [char],
    out: Out,
    /// The next number is not a year (after "#", "No.", a minus sign).
    no_year: bool,
}

impl Normalizer<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.c.get(i).copied()
    }

    fn digit_at(&self, i: usize) -> bool {
        self.at(i).is_some_and(|c| c.is_ascii_digit())
    }

    /// True when position `i` is not inside a word or number.
    fn boundary(&self, i: usize) -> bool {
        !self.at(i).is_some_and(char::is_alphanumeric)
    }

    /// True when a word may end at `i`: no letter follows, nor a period joined to more text
    /// ("U.S.", "a.b"), so that letters written there cannot form new initials.
    fn word_end(&self, i: usize) -> bool {
        !self.at(i).is_some_and(char::is_alphabetic)
            && (self.at(i) != Some('.') || self.boundary(i + 1))
    }

    fn matches(&self, i: usize, s: &str) -> bool {
        (i..).zip(s.chars()).all(|(k, ch)| self.at(k) == Some(ch))
    }

    fn matches_ignore_case(&self, i: usize, s: &str) -> bool {
        (i..)
            .zip(s.chars())
            .all(|(k, ch)| self.at(k).is_some_and(|c| c.eq_ignore_ascii_case(&ch)))
    }

    /// Whether a period just before `i` seems to end a sentence: end of text, a line break, or
    /// whitespace then a capital letter.
    fn ends_sentence(&self, i: usize) -> bool {
        let mut k = i;
        let mut spaced = false;
        while let Some(c) = self.at(k) {
            if c == '\n' || c == '\r' {
                return true;
            }
            if !c.is_whitespace() {
                return spaced && c.is_uppercase();
            }
            spaced = true;
            k += 1;
        }
        true
    }

    fn run(&mut self) {
        let mut i = 0;
        while i < self.c.len() {
            i = self.step(i);
        }
    }

    fn step(&mut self, i: usize) -> usize {
        let c = self.c[i];
        let prev = if i > 0 { self.at(i - 1) } else { None };
        if c.is_ascii_digit() {
            return self.number(i, None);
        }
        if let Some(cur) = currency(c) {
            if self.digit_at(i + 1) {
                return self.number(i + 1, Some(cur));
            }
            if self.at(i + 1) == Some(' ') && self.digit_at(i + 2) {
                return self.number(i + 2, Some(cur));
            }
            self.out.word(cur.one);
            return i + 1;
        }
        let loose = prev.is_none_or(|p| !p.is_alphanumeric() && p != '.' && p != '-');
        if matches!(c, '-' | '−') && loose {
            let next = self.at(i + 1);
            let number_follows = self.digit_at(i + 1)
                || (next == Some('.') && self.digit_at(i + 2))
                || (next.and_then(currency).is_some() && self.digit_at(i + 2));
            if number_follows {
                self.out.word("minus");
                self.no_year = true;
                return i + 1;
            }
        }
        if c == '.' && self.digit_at(i + 1) && prev.is_none_or(|p| !p.is_alphanumeric() && p != '.')
        {
            let end = self.digits_end(i + 1);
            let digits: String = self.c[i + 1..end].iter().collect();
            self.out.word("point");
            self.out.word(&spell_digits(&digits));
            return end;
        }
        if matches!(c, '\'' | '’')
            && prev.is_none_or(|p| !p.is_alphanumeric())
            && self.digit_at(i + 1)
            && self.digit_at(i + 2)
            && self.at(i + 3) == Some('s')
            && self.boundary(i + 4)
        {
            return i + 1; // "'90s": the number reads "nineties".
        }
        if c.is_alphabetic() {
            return self.word_at(i);
        }
        if c.is_whitespace() {
            self.out.gap(matches!(
                c,
                '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}'
            ));
            return i + 1;
        }
        self.symbol(i)
    }

    fn digits_end(&self, mut k: usize) -> usize {
        while self.digit_at(k) {
            k += 1;
        }
        k
    }

    fn symbol(&mut self, i: usize) -> usize {
        let c = self.c[i];
        let next = self.at(i + 1);
        let prev_digit = i > 0 && self.digit_at(i - 1);
        match c {
            '&' => self.out.word("and"),
            '@' => self.out.word("at"),
            '+' => self.out.word("plus"),
            '=' => self.out.word("equals"),
            '#' => {
                if self.digit_at(i + 1) || (next == Some(' ') && self.digit_at(i + 2)) {
                    self.out.word("number");
                    self.no_year = true;
                } else {
                    self.out.word("hash");
                }
            }
            '%' => self.out.word("percent"),
            '‰' => self.out.word("per mille"),
            '°' => {
                let (unit, len) = self.degree_scale(i + 1);
                self.out.word("degrees");
                self.out.word(unit);
                return i + 1 + len;
            }
            '*' => self.out.word("star"),
            '/' => self.out.word("slash"),
            '\\' => self.out.word("backslash"),
            '~' => self.out.word("about"),
            '<' => self.out.word("less than"),
            '>' => self.out.word("greater than"),
            '_' => self.out.word("underscore"),
            '¢' => self.out.word("cents"),
            '×' => self.out.word("times"),
            '÷' => self.out.word("divided by"),
            '±' => self.out.word("plus or minus"),
            '≈' => self.out.word("approximately"),
            '≠' => self.out.word("is not equal to"),
            '≤' => self.out.word("is less than or equal to"),
            '≥' => self.out.word("is greater than or equal to"),
            '©' => self.out.word("copyright"),
            '®' => self.out.word("registered"),
            '™' => self.out.word("trademark"),
            '§' => self.out.word("section"),
            '²' => self.out.word("squared"),
            '³' => self.out.word("cubed"),
            '½' | '¼' | '¾' | '⅓' | '⅔' | '⅛' => {
                if prev_digit {
                    self.out.word("and");
                }
                self.out.word(match c {
                    '½' => "one half",
                    '¼' => "one quarter",
                    '¾' => "three quarters",
                    '⅓' => "one third",
                    '⅔' => "two thirds",
                    _ => "one eighth",
                });
            }
            '…' => self.out.raw_str("..."),
            '—' | '―' | '(' | ')' | '[' | ']' | '{' | '}' => self.out.pause(),
            '–' | '-' => {
                let money_follows = next.and_then(currency).is_some() && self.digit_at(i + 2);
                if prev_digit && money_follows {
                    self.out.word("to");
                } else if c == '–' || next == Some('-') {
                    let mut k = i;
                    while matches!(self.at(k), Some('-' | '–')) {
                        k += 1;
                    }
                    self.out.pause();
                    return k;
                } else {
                    self.out.raw('-');
                }
            }
            '“' | '”' | '„' | '«' | '»' | '″' => self.out.raw('"'),
            '‘' | '’' | '‚' | '′' => self.out.raw('\''),
            other => self.out.raw(other),
        }
        i + 1
    }

    /// "C"/"F" after a degree sign: the scale's name and how many characters it took.
    fn degree_scale(&self, k: usize) -> (&'static str, usize) {
        match self.at(k) {
            Some('C') if self.boundary(k + 1) => ("Celsius", 1),
            Some('F') if self.boundary(k + 1) => ("Fahrenheit", 1),
            _ => ("", 0),
        }
    }

    /// Reads the numeric cluster starting at `start` (a digit), with an optional currency
    /// symbol before it; returns the index after everything consumed.
    fn number(&mut self, start: usize, cur: Option<&'static Currency>) -> usize {
        // The cluster: digit runs joined by single separators that are followed by a digit.
        let mut runs: Vec<Run> = Vec::new();
        let mut k = start;
        let mut sep = None;
        loop {
            let end = self.digits_end(k);
            runs.push(Run {
                sep,
                digits: self.c[k..end].iter().collect(),
            });
            k = end;
            match self.at(k) {
                Some(s @ (',' | '.' | ':' | '/' | '-' | '–')) if self.digit_at(k + 1) => {
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

        let (suffix, after) = self.suffix(k, &parts, cur.is_some());
        let no_year = std::mem::take(&mut self.no_year);
        let allow_year = cur.is_none() && !no_year && matches!(suffix, Suffix::None);
        let text = self.compose(start, &parts, cur, &suffix, allow_year);
        self.out.word(&text);
        if let Suffix::AmPm(_, true) = suffix {
            if self.ends_sentence(after) {
                self.out.raw('.');
            }
        }
        after
    }

    /// Detects what follows the number at `k`; returns it and the index after it.
    fn suffix(&self, k: usize, parts: &[Part], has_currency: bool) -> (Suffix, usize) {
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
        let sp = usize::from(self.at(k) == Some(' '));

        if let Some(int) = single_int {
            for suf in ["st", "nd", "rd", "th"] {
                if self.matches_ignore_case(k, suf) && self.boundary(k + 2) {
                    let written: String = self.c[k..k + 2].iter().collect();
                    return (Suffix::Ordinal(written), k + 2);
                }
            }
            let decade =
                int.ends_with('0') && !int.starts_with('0') && (2..=4).contains(&int.len());
            if decade && self.at(k) == Some('s') && self.boundary(k + 1) {
                return (Suffix::Decade, k + 1);
            }
            if decade
                && matches!(self.at(k), Some('\'' | '’'))
                && self.at(k + 1) == Some('s')
                && self.boundary(k + 2)
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
                    if self.matches_ignore_case(at, written) && self.word_end(at + written.len()) {
                        return (Suffix::AmPm(spoken, dotted), at + written.len());
                    }
                }
            }
        }
        if is_num || is_frac {
            if self.at(k + sp) == Some('%') {
                return (Suffix::Percent, k + sp + 1);
            }
            if self.at(k + sp) == Some('‰') {
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
                    if sp == 1
                        && self.matches(k + 1, written)
                        && self.boundary(k + 1 + written.len())
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
                    if self.matches(k, written) && self.boundary(k + written.len()) {
                        return (Suffix::Scale(scale), k + written.len());
                    }
                }
            } else {
                if let Some(cur) = self.at(k + sp).and_then(currency) {
                    if !self.digit_at(k + sp + 1) {
                        return (Suffix::Currency(cur), k + sp + 1);
                    }
                }
                if self.at(k + sp) == Some('¢') {
                    return (Suffix::Cents, k + sp + 1);
                }
            }
            if self.at(k + sp) == Some('°') {
                let (scale, len) = self.degree_scale(k + sp + 1);
                return (Suffix::Degrees(scale), k + sp + 1 + len);
            }
        }
        for &(written, one, many, attached) in UNITS {
            if attached && sp == 1 {
                continue;
            }
            let at = k + sp;
            if self.matches(at, written) && self.boundary(at + written.chars().count()) {
                return (Suffix::Unit(one, many), at + written.chars().count());
            }
        }
        (Suffix::None, k)
    }

    /// Words for a whole cluster with its currency and suffix.
    fn compose(
        &self,
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
                Part::Num(n) if is_last => self.num_with_suffix(start, n, cur, suffix, allow_year),
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
                        start >= 2 && self.at(start - 1) == Some(' ') && self.digit_at(start - 2);
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

    fn num_with_suffix(
        &self,
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
            let mut w = n.money(cur, scale);
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
            Suffix::Currency(cur) => n.money(cur, None),
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
                let after_month = start > 0
                    && self.at(start - 1) == Some(' ')
                    && MONTHS.contains(&self.out.last_word());
                let day = plain_value(n).is_some_and(|v| (1..=31).contains(&v));
                if after_month && day && !n.int.starts_with('0') {
                    ordinal(&n.read(false))
                } else {
                    n.read(allow_year)
                }
            }
        }
    }

    /// A run of letters starting at `i`.
    fn word_at(&mut self, i: usize) -> usize {
        let mut j = i;
        while self.at(j).is_some_and(char::is_alphabetic) {
            j += 1;
        }
        let w: String = self.c[i..j].iter().collect();
        let prev_letter = i > 0 && self.at(i - 1).is_some_and(char::is_alphabetic);

        // Dotted initials: "U.S.", "e.g.", "a.m.".
        if j == i + 1 && self.at(j) == Some('.') && !prev_letter {
            let mut letters = vec![self.c[i]];
            let mut k = j + 1;
            while self.at(k).is_some_and(char::is_alphabetic) && self.at(k + 1) == Some('.') {
                letters.push(self.c[k]);
                k += 2;
            }
            let free = !self
                .at(k)
                .is_some_and(|c| c.is_alphabetic() || c == '.' || c == '…');
            if letters.len() >= 2 && free {
                let written: String = letters.iter().collect();
                match written.as_str() {
                    "eg" => self.out.word("for example"),
                    "ie" => self.out.word("that is"),
                    _ => {
                        let spaced: Vec<String> = letters.iter().map(char::to_string).collect();
                        self.out.word(&spaced.join(" "));
                        if self.ends_sentence(k) {
                            self.out.raw('.');
                        }
                    }
                }
                return k;
            }
        }

        // Abbreviations with a period.
        let single_period = self.at(j) == Some('.') && !matches!(self.at(j + 1), Some('.' | '…'));
        if single_period && !prev_letter {
            if let Some(&(_, expansion, kind)) =
                ABBREVIATIONS.iter().find(|(a, _, _)| abbr_matches(a, &w))
            {
                let after = j + 1;
                let next_cap = self.next_word_capitalized(after);
                match kind {
                    Abbr::Title => {
                        self.out.word(expansion);
                        return after;
                    }
                    Abbr::BeforeNumber => {
                        let mut k = after;
                        while self.at(k) == Some(' ') {
                            k += 1;
                        }
                        if self.digit_at(k) {
                            self.out.word(expansion);
                            self.no_year = true;
                            return after;
                        }
                    }
                    Abbr::SaintOrStreet | Abbr::DoctorOrDrive | Abbr::Tail => {
                        let name_follows = next_cap && self.at(after) == Some(' ');
                        let word = match kind {
                            Abbr::SaintOrStreet if name_follows => "Saint",
                            Abbr::SaintOrStreet => "Street",
                            Abbr::DoctorOrDrive if name_follows => "Doctor",
                            Abbr::DoctorOrDrive if self.prev_word_capitalized(i) => "Drive",
                            Abbr::DoctorOrDrive => "Doctor",
                            _ => expansion,
                        };
                        self.out.word(word);
                        let titled = matches!(word, "Saint" | "Doctor");
                        if !titled && self.ends_sentence(after) {
                            self.out.raw('.');
                        }
                        return after;
                    }
                }
            }
        }

        if !prev_letter {
            if w.eq_ignore_ascii_case("vs") {
                self.out.word("versus");
                return j;
            }
            if let Some(&(_, expansion)) = BARE_TITLES.iter().find(|(a, _)| *a == w) {
                if self.at(j) == Some(' ') && self.next_word_capitalized(j) {
                    self.out.word(expansion);
                    return j;
                }
            }
            if w == "OK" {
                self.out.word("okay");
                return j;
            }
            if self.spell_acronym(i, j, &w) {
                let spaced: Vec<String> = w.chars().map(|c| c.to_string()).collect();
                self.out.word(&spaced.join(" "));
                return j;
            }
        }
        for ch in w.chars() {
            self.out.raw(ch);
        }
        j
    }

    /// All-caps words of 2–5 ASCII letters are spelled out ("HTTP" → "H T T P"), except
    /// words read as words, Roman numerals, and shouting (an all-caps neighbor).
    fn spell_acronym(&self, i: usize, j: usize, w: &str) -> bool {
        let caps = |s: &str| s.chars().all(|c| c.is_ascii_uppercase());
        if !(2..=5).contains(&w.len()) || !caps(w) || SPOKEN_ACRONYMS.contains(&w) {
            return false;
        }
        if !self.word_end(j) || (i > 0 && self.c[i - 1] == '.') {
            return false;
        }
        if w.chars().all(|c| matches!(c, 'I' | 'V' | 'X')) {
            return false;
        }
        let shouting = |word: String| word == "I" || (word.chars().count() >= 2 && caps(&word));
        let before = {
            let mut k = i;
            while k > 0 && self.c[k - 1] == ' ' {
                k -= 1;
            }
            let end = k;
            while k > 0 && self.c[k - 1].is_alphabetic() {
                k -= 1;
            }
            (end < i).then(|| self.c[k..end].iter().collect::<String>())
        };
        let after = {
            let mut k = j;
            while self.at(k) == Some(' ') {
                k += 1;
            }
            let st = k;
            while self.at(k).is_some_and(char::is_alphabetic) {
                k += 1;
            }
            (st > j).then(|| self.c[st..k].iter().collect::<String>())
        };
        !(before.is_some_and(shouting) || after.is_some_and(shouting))
    }

    /// Whether whitespace then a capitalized word that is not a common sentence opener follows.
    fn next_word_capitalized(&self, k: usize) -> bool {
        let mut k = k;
        while self.at(k).is_some_and(|c| c == ' ' || c == '\t') {
            k += 1;
        }
        if !self.at(k).is_some_and(char::is_uppercase) {
            return false;
        }
        let st = k;
        while self.at(k).is_some_and(char::is_alphabetic) {
            k += 1;
        }
        let word: String = self.c[st..k].iter().collect();
        !SENTENCE_STARTERS.contains(&word.as_str())
    }

    /// Whether the word before position `i` (across spaces) is capitalized or a number.
    fn prev_word_capitalized(&self, i: usize) -> bool {
        let mut k = i;
        while k > 0 && self.c[k - 1] == ' ' {
            k -= 1;
        }
        if k == i || k == 0 {
            return false;
        }
        let mut st = k;
        while st > 0 && self.c[st - 1].is_alphanumeric() {
            st -= 1;
        }
        self.c[st].is_uppercase() || self.c[st].is_ascii_digit()
    }
}

fn abbr_matches(abbr: &str, w: &str) -> bool {
    if abbr == w {
        return true;
    }
    let mut a = abbr.chars();
    let mut b = w.chars();
    match (a.next(), b.next()) {
        (Some(x), Some(y)) if x.is_lowercase() => {
            x.to_uppercase().eq(std::iter::once(y)) && a.eq(b)
        }
        _ => false,
    }
}

fn plain_value(n: &Num) -> Option<usize> {
    if n.frac.is_some() {
        return None;
    }
    value(&n.int)
}

fn date_words(month: &str, day: &str, year_digits: &str) -> Option<String> {
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

fn slash_date_words(a: &str, b: &str, c: &str) -> String {
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

fn fraction_words(a: &str, b: &str) -> String {
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

fn time_words(h: usize, m: usize, s: Option<usize>, ampm: Option<&str>) -> String {
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
    fn huge_numbers_are_read_digit_by_digit_in_linear_time() {
        let digits = "9".repeat(100_000);
        let out = normalize(&digits);
        assert_eq!(out.split(' ').count(), 100_000);
        let mixed = "1.2-3:4/5,6 ".repeat(20_000);
        assert!(!normalize(&mixed).chars().any(|c| c.is_ascii_digit()));
    }

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
