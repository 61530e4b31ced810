//! Abbreviation tables: abbreviations written with a period and how each is read, titles also
//! expanded without one, common sentence openers (to tell a name from a new sentence after an
//! abbreviation), and all-caps words read as words; with the case rule for matching them.

/// How an abbreviation followed by a period is read.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Abbr {
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
pub(super) const ABBREVIATIONS: &[(&str, &str, Abbr)] = &[
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
pub(super) const BARE_TITLES: &[(&str, &str)] = &[
    ("Mr", "Mister"),
    ("Mrs", "Missus"),
    ("Ms", "Miz"),
    ("Dr", "Doctor"),
    ("Prof", "Professor"),
    ("St", "Saint"),
];

/// Capitalized words that usually start a sentence rather than a name ("Main St. Then …").
pub(super) const SENTENCE_STARTERS: &[&str] = &[
    "The", "Then", "It", "I", "We", "He", "She", "They", "This", "That", "There", "A", "An", "In",
    "On", "At", "But", "And", "So", "You", "My", "Our", "Its",
];

/// All-caps words read as words rather than letter by letter.
pub(super) const SPOKEN_ACRONYMS: &[&str] = &[
    "NASA", "NATO", "LASER", "RADAR", "SCUBA", "AIDS", "COVID", "FIFA", "OPEC", "GIF", "JPEG",
    "PIN", "ZIP", "SIM", "RAM", "ROM", "CAD", "UNIX", "LAN", "WAN", "SWAT", "NASDAQ", "ASCII",
];

/// Whether the word `w` is the table entry `abbr`: exactly, or capitalized when the entry is
/// lowercase.
pub(super) fn abbr_matches(abbr: &str, w: &str) -> bool {
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
