//! Piper phonemes → model input ids: the voice's `phoneme_id_map` (from its `.onnx.json`), and the
//! encoding piper-phonemize uses (`^`, `_`, then each phoneme followed by the pad `_`, then `$`;
//! phonemes missing from the map are skipped). Pure functions; knows nothing of eSpeak.

use std::collections::HashMap;

/// Beginning-of-sentence symbol.
const BOS: char = '^';
/// End-of-sentence symbol.
const EOS: char = '$';
/// Pad, inserted after the BOS and after every phoneme.
const PAD: char = '_';

/// A Piper voice's phoneme → ids table.
#[derive(Clone, Debug)]
pub struct PhonemeIdMap {
    map: HashMap<char, Vec<i64>>,
    bos: Vec<i64>,
    eos: Vec<i64>,
    pad: Vec<i64>,
}

/// The ids of one sentence, and the phonemes the map lacks (each once, in order of appearance).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhonemeIds {
    /// Model input ids (`input` of the VITS model).
    pub ids: Vec<i64>,
    /// Per id, the phoneme it encodes: its index among the sentence's characters (`None` for
    /// the begin, end and pad ids). Durations of ids map back to the text through it.
    pub sources: Vec<Option<usize>>,
    /// Phonemes that were skipped because the map has no id for them.
    pub missing: Vec<char>,
}

impl PhonemeIdMap {
    /// Reads `phoneme_id_map` of a Piper voice config (`<voice>.onnx.json`). Every key must be
    /// one codepoint, every value a list of integers; `^`, `$` and `_` must be present.
    pub fn from_config(json: &serde_json::Value) -> Result<Self, String> {
        let table = json
            .get("phoneme_id_map")
            .and_then(serde_json::Value::as_object)
            .ok_or("the voice config has no \"phoneme_id_map\" object")?;
        let mut map = HashMap::with_capacity(table.len());
        for (key, value) in table {
            let mut chars = key.chars();
            let (Some(phoneme), None) = (chars.next(), chars.next()) else {
                return Err(format!(
                    "phoneme_id_map key {key:?} is not a single codepoint"
                ));
            };
            let ids = value
                .as_array()
                .and_then(|ids| ids.iter().map(serde_json::Value::as_i64).collect())
                .ok_or_else(|| {
                    format!("phoneme_id_map[{key:?}] is not a list of integers: {value}")
                })?;
            map.insert(phoneme, ids);
        }
        let special = |c: char| {
            map.get(&c)
                .cloned()
                .ok_or_else(|| format!("phoneme_id_map has no {c:?}"))
        };
        Ok(Self {
            bos: special(BOS)?,
            eos: special(EOS)?,
            pad: special(PAD)?,
            map,
        })
    }

    /// Number of phonemes in the map.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty (never, for a map built by [`PhonemeIdMap::from_config`]).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Encodes one sentence of phonemes (one codepoint per phoneme, as
    /// [`crate::text::espeak::Espeak::phonemize`] returns them).
    pub fn encode(&self, phonemes: &str) -> PhonemeIds {
        let mut out = PhonemeIds::default();
        let add = |out: &mut PhonemeIds, ids: &[i64], source: Option<usize>| {
            out.ids.extend(ids);
            out.sources.extend(std::iter::repeat_n(source, ids.len()));
        };
        add(&mut out, &self.bos, None);
        add(&mut out, &self.pad, None);
        for (at, phoneme) in phonemes.chars().enumerate() {
            match self.map.get(&phoneme) {
                Some(ids) => {
                    add(&mut out, ids, Some(at));
                    add(&mut out, &self.pad, None);
                }
                None if !out.missing.contains(&phoneme) => out.missing.push(phoneme),
                None => {}
            }
        }
        add(&mut out, &self.eos, None);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> PhonemeIdMap {
        PhonemeIdMap::from_config(&json!({
            "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "ˈ": [120], "ː": [122, 7]}
        }))
        .expect("valid map")
    }

    #[test]
    fn a_sentence_is_wrapped_in_bos_and_eos_with_pads_after_each_phoneme() {
        assert_eq!(
            map().encode("ˈa a").ids,
            [1, 0, 120, 0, 14, 0, 3, 0, 14, 0, 2]
        );
    }

    #[test]
    fn every_id_knows_the_phoneme_character_it_encodes() {
        let ids = map().encode("ˈaqː");
        assert_eq!(ids.ids, [1, 0, 120, 0, 14, 0, 122, 7, 0, 2]);
        let n = None;
        assert_eq!(
            ids.sources,
            [n, n, Some(0), n, Some(1), n, Some(3), Some(3), n, n]
        );
    }

    #[test]
    fn multi_id_phonemes_get_all_their_ids_then_one_pad() {
        assert_eq!(map().encode("aː").ids, [1, 0, 14, 0, 122, 7, 0, 2]);
    }

    #[test]
    fn empty_phonemes_give_bos_pad_eos() {
        let ids = map().encode("");
        assert_eq!(ids.ids, [1, 0, 2]);
        assert!(ids.missing.is_empty());
    }

    #[test]
    fn missing_phonemes_are_skipped_and_listed_once() {
        let ids = map().encode("aqaqz");
        assert_eq!(ids.ids, [1, 0, 14, 0, 14, 0, 2]);
        assert_eq!(ids.missing, ['q', 'z']);
    }

    #[test]
    fn configs_without_a_usable_map_are_rejected() {
        for (config, error) in [
            (json!({}), "no \"phoneme_id_map\""),
            (json!({"phoneme_id_map": {"ab": [1]}}), "single codepoint"),
            (json!({"phoneme_id_map": {"a": "1"}}), "list of integers"),
            (json!({"phoneme_id_map": {"a": [1.5]}}), "list of integers"),
            (
                json!({"phoneme_id_map": {"^": [1], "$": [2]}}),
                "has no '_'",
            ),
        ] {
            let got = PhonemeIdMap::from_config(&config).expect_err("rejected");
            assert!(got.contains(error), "{config}: {got}");
        }
    }

    #[test]
    fn the_joe_voice_map_reads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/piper-phonemes/en_US-joe-medium.onnx.json"
        );
        let text = std::fs::read_to_string(path).expect("the committed voice config");
        let config: serde_json::Value = serde_json::from_str(&text).expect("json");
        let map = PhonemeIdMap::from_config(&config).expect("joe's map");
        assert_eq!(map.len(), 151);
        assert_eq!(map.encode("hə").ids, [1, 0, 20, 0, 59, 0, 2]);
    }
}
