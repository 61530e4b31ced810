//! Which word each phoneme of a sentence belongs to.
//!
//! A phonemizer reads a sentence as a whole, and its word boundaries are not the text's: eSpeak
//! NG writes "of the" as one word (`ʌvðə`) and "for an" as `fɚɹən`. Each word read alone gives
//! its own phonemes; aligning the sentence's phonemes with those words' phonemes, one after the
//! other (an edit-distance alignment in a band around the diagonal, linear in the sentence's
//! length), gives every phoneme of the sentence a word. Stress marks go with the phoneme after
//! them; spaces and punctuation belong to no word.

/// Stress marks: they belong to the phoneme after them.
fn is_stress(c: char) -> bool {
    matches!(c, 'ˈ' | 'ˌ')
}

/// Characters of a phoneme string that are no phoneme of a word: word gaps and the clause
/// punctuation Piper's sentences carry.
fn is_gap(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '"' | '\'' | '-')
}

/// Half-width of the band of the alignment around the diagonal, in phonemes.
const BAND: usize = 96;

/// A symbol of either sequence: a phoneme, or a gap between words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Symbol {
    Phoneme(char),
    Gap,
}

/// Cost of putting `a` against `b`.
fn substitution(a: Symbol, b: Symbol) -> u32 {
    match (a, b) {
        (x, y) if x == y => 0,
        (Symbol::Phoneme(_), Symbol::Phoneme(_)) => 2,
        _ => 3,
    }
}

/// Cost of a symbol left unmatched.
const INDEL: u32 = 2;

/// Moves of the alignment's path.
#[derive(Clone, Copy)]
enum Step {
    Diagonal,
    Up,
    Left,
}

/// For each character of `sentence` (the phonemes of a sentence), the index of the word of
/// `words` (each word's phonemes read alone, in order) it belongs to; `None` for spaces,
/// punctuation, and when there are no words. Phonemes that match none of the words' phonemes
/// go with the word before them (after them at the start).
pub fn assign(sentence: &str, words: &[&str]) -> Vec<Option<usize>> {
    let chars: Vec<char> = sentence.chars().collect();
    let mut out = vec![None; chars.len()];
    if words.is_empty() {
        return out;
    }
    // The sentence as symbols, each with the index of its character.
    let mut a: Vec<(Symbol, usize)> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if is_stress(c) {
            continue;
        }
        let symbol = if is_gap(c) {
            Symbol::Gap
        } else {
            Symbol::Phoneme(c)
        };
        if symbol == Symbol::Gap && a.last().is_none_or(|(s, _)| *s == Symbol::Gap) {
            continue;
        }
        a.push((symbol, i));
    }
    // The words' phonemes one after the other, a gap between words.
    let mut b: Vec<(Symbol, Option<usize>)> = Vec::new();
    for (w, word) in words.iter().enumerate() {
        let mut any = false;
        for c in word.chars().filter(|&c| !is_stress(c) && !is_gap(c)) {
            b.push((Symbol::Phoneme(c), Some(w)));
            any = true;
        }
        if any {
            b.push((Symbol::Gap, None));
        }
    }
    let matched = align(&a, &b);
    // Phonemes matched to a word's phoneme take its word; the rest wait for a neighbour.
    let mut word_of: Vec<Option<usize>> = vec![None; a.len()];
    for (i, j) in matched {
        if let (Symbol::Phoneme(_), Some(&(_, w))) = (a[i].0, b.get(j)) {
            word_of[i] = w;
        }
    }
    let mut last = None;
    let first_word = word_of.iter().flatten().next().copied();
    for (k, &(symbol, index)) in a.iter().enumerate() {
        match symbol {
            Symbol::Gap => {}
            Symbol::Phoneme(_) => {
                let word = word_of[k].or(last).or(first_word);
                if word_of[k].is_some() {
                    last = word_of[k];
                }
                out[index] = word;
            }
        }
    }
    // Stress marks take the word of the phoneme after them.
    for i in (0..chars.len()).rev() {
        if is_stress(chars[i]) {
            out[i] = chars
                .get(i + 1)
                .filter(|c| !is_gap(**c))
                .and(out.get(i + 1).copied().flatten());
        }
    }
    out
}

/// The pairs `(i, j)` an edit-distance alignment of `a` with `b` puts against each other,
/// computed in a band of [`BAND`] around the diagonal (scaled to the lengths).
fn align(a: &[(Symbol, usize)], b: &[(Symbol, Option<usize>)]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let width = 2 * BAND + 1;
    // Row i covers columns lo(i) .. lo(i) + width of the (n+1) × (m+1) table.
    let lo = |i: usize| (i * m / n).saturating_sub(BAND);
    let mut cost = vec![u32::MAX; (n + 1) * width];
    let mut step = vec![Step::Diagonal; (n + 1) * width];
    let cell = |i: usize, j: usize| -> Option<usize> {
        let l = lo(i);
        (j >= l && j < l + width && j <= m).then(|| i * width + (j - l))
    };
    let get = |cost: &[u32], i: usize, j: usize| cell(i, j).map_or(u32::MAX, |c| cost[c]);
    for i in 0..=n {
        let l = lo(i);
        for j in l..(l + width).min(m + 1) {
            let here = i * width + (j - l);
            if i == 0 {
                cost[here] = j as u32 * INDEL;
                step[here] = Step::Left;
                continue;
            }
            let mut best = (u32::MAX, Step::Diagonal);
            if j > 0 {
                let d = get(&cost, i - 1, j - 1);
                if d != u32::MAX {
                    best = (d + substitution(a[i - 1].0, b[j - 1].0), Step::Diagonal);
                }
            }
            let up = get(&cost, i - 1, j);
            if up != u32::MAX && up + INDEL < best.0 {
                best = (up + INDEL, Step::Up);
            }
            if j > 0 {
                let left = get(&cost, i, j - 1);
                if left != u32::MAX && left + INDEL < best.0 {
                    best = (left + INDEL, Step::Left);
                }
            }
            cost[here] = best.0;
            step[here] = best.1;
        }
    }
    // Walk back from the end (or the band's nearest reachable corner).
    let mut pairs = Vec::new();
    let (mut i, mut j) = (n, m);
    if cell(i, j).is_none() {
        j = (lo(n) + width - 1).min(m);
    }
    while i > 0 && j > 0 {
        let Some(c) = cell(i, j) else { break };
        match step[c] {
            Step::Diagonal => {
                pairs.push((i - 1, j - 1));
                i -= 1;
                j -= 1;
            }
            Step::Up => i -= 1,
            Step::Left => j -= 1,
        }
    }
    pairs.reverse();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters of `sentence` that belong to each word, as strings.
    fn pieces(sentence: &str, words: &[&str]) -> Vec<String> {
        let assigned = assign(sentence, words);
        let mut out = vec![String::new(); words.len()];
        for (c, w) in sentence.chars().zip(assigned) {
            if let Some(w) = w {
                out[w].push(c);
            }
        }
        out
    }

    #[test]
    fn words_espeak_joined_are_taken_apart() {
        assert_eq!(
            pieces(
                "fˈɔːɹɾitˈuː ʌvðə kˈæts.",
                &["fˈɔːɹɾitˈuː", "ʌv", "ðə", "kˈæts"]
            ),
            ["fˈɔːɹɾitˈuː", "ʌv", "ðə", "kˈæts"]
        );
        assert_eq!(
            pieces(
                "ɪz ɐ lˈɑːt fɚɹən ˈæpəl, ˈɪzənt ɪt?",
                &["ɪz", "ɐ", "lˈɑːt", "fɔːɹ", "æn", "ˈæpəl", "ˈɪzənt", "ɪt"]
            ),
            ["ɪz", "ɐ", "lˈɑːt", "fɚɹ", "ən", "ˈæpəl", "ˈɪzənt", "ɪt"]
        );
    }

    #[test]
    fn reduced_forms_still_find_their_word() {
        // "to" alone is tˈuː, in the sentence tə.
        assert_eq!(
            pieces("aɪ wˈɔnt tə ɡˌoʊ.", &["ˈaɪ", "wˈɔnt", "tˈuː", "ɡˈoʊ"]),
            ["aɪ", "wˈɔnt", "tə", "ɡˌoʊ"]
        );
    }

    #[test]
    fn spaces_and_punctuation_belong_to_no_word() {
        let sentence = "həlˈoʊ, wˈɜːld!";
        let assigned = assign(sentence, &["həlˈoʊ", "wˈɜːld"]);
        for (c, w) in sentence.chars().zip(&assigned) {
            assert_eq!(w.is_none(), is_gap(c), "{c:?}");
        }
    }

    #[test]
    fn no_words_or_no_phonemes_assign_nothing() {
        assert_eq!(assign("həlˈoʊ", &[]), vec![None; 6]);
        assert!(assign("", &["a"]).is_empty());
        assert_eq!(assign("həlˈoʊ", &[""]), vec![None; 6]);
    }

    #[test]
    fn long_sentences_align_in_linear_space_and_keep_order() {
        let words: Vec<String> = (0..2_000)
            .map(|i| ["ðə", "kˈæt", "sˈæt", "ˈɒn", "mˈæt"][i % 5].to_owned())
            .collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let sentence = refs.join(" ");
        let assigned = assign(&sentence, &refs);
        let order: Vec<usize> = assigned.iter().flatten().copied().collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(order.first(), Some(&0));
        assert_eq!(order.last(), Some(&1_999));
        assert_eq!(pieces(&sentence, &refs)[1_234], refs[1_234]);
    }

    #[test]
    fn words_phonemized_differently_still_cover_the_sentence_in_order() {
        // Nothing in common: every phoneme still gets a word, in order.
        let assigned = assign("abc def ghi", &["xyz", "uvw"]);
        let order: Vec<usize> = assigned.iter().flatten().copied().collect();
        assert_eq!(order.len(), 9);
        assert!(order.windows(2).all(|w| w[0] <= w[1]));
    }
}
