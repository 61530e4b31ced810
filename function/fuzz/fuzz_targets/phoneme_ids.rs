//! Phonemes → the joe voice's model ids on arbitrary strings: no panic, every id in the table's
//! range, the sentence framed by `^ _ … $`, an id list linear in the input, and every phoneme
//! outside the map reported once.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tts::text::phoneme_ids::PhonemeIdMap;

/// The joe voice's config as the repository ships it for the phonemizer tests.
const CONFIG: &str = include_str!("../../../tests/fixtures/piper-phonemes/en_US-joe-medium.onnx.json");

fn map() -> &'static (PhonemeIdMap, i64) {
    static MAP: OnceLock<(PhonemeIdMap, i64)> = OnceLock::new();
    MAP.get_or_init(|| {
        let config: serde_json::Value = serde_json::from_str(CONFIG).expect("the fixture is JSON");
        let max = config["phoneme_id_map"]
            .as_object()
            .expect("a phoneme_id_map")
            .values()
            .flat_map(|ids| ids.as_array().expect("id lists").iter())
            .map(|id| id.as_i64().expect("integer ids"))
            .max()
            .expect("ids");
        (PhonemeIdMap::from_config(&config).expect("the joe map loads"), max)
    })
}

fuzz_target!(|phonemes: &str| {
    let (map, max) = map();
    let encoded = map.encode(phonemes);
    let n = phonemes.chars().count();
    assert!(encoded.ids.len() >= 3, "{:?}", encoded.ids);
    assert!(encoded.ids.len() <= 2 * n * 4 + 3, "{} ids for {n} phonemes", encoded.ids.len());
    assert!(encoded.ids.iter().all(|id| (0..=*max).contains(id)), "{:?}", encoded.ids);
    let mut seen = std::collections::HashSet::new();
    assert!(encoded.missing.iter().all(|c| seen.insert(*c) && phonemes.contains(*c)));
});
