//! The eSpeak NG C library, loaded at run time with `libloading` (no build-time dependency): the
//! four functions Piper's phonemizer uses, behind a safe wrapper. eSpeak NG is global state and not
//! thread-safe; this program uses it from its one thread only.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

/// `espeak_AUDIO_OUTPUT::AUDIO_OUTPUT_SYNCHRONOUS`: no audio device, as Piper initializes it.
const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
/// `espeakINITIALIZE_DONT_EXIT`: report a bad data folder instead of calling `exit(1)`.
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
/// `espeakCHARS_AUTO`: UTF-8, falling back to 8-bit for invalid sequences.
const CHARS_AUTO: c_int = 0;
/// Phoneme mode bit 1: IPA output (what Piper passes, `0x02`).
const PHONEMES_IPA: c_int = 0x02;

type Initialize = unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int;
type Info = unsafe extern "C" fn(*mut *const c_char) -> *const c_char;
type SetVoiceByName = unsafe extern "C" fn(*const c_char) -> c_int;
type TextToPhonemes = unsafe extern "C" fn(*mut *const c_void, c_int, c_int) -> *const c_char;

/// One clause as eSpeak returns it.
pub struct Clause {
    /// IPA phonemes of the clause (may hold `(lang)` switch markers).
    pub phonemes: String,
    /// Byte offset in the input where the next clause starts; `None` at the end of the input.
    pub next: Option<usize>,
}

/// A loaded and initialized eSpeak NG library.
pub struct Espeak {
    set_voice_by_name: SetVoiceByName,
    text_to_phonemes: TextToPhonemes,
    version: String,
    // Keeps the function pointers above valid; declared last so it is dropped last.
    _library: libloading::Library,
}

impl Espeak {
    /// Loads the library at `library` and initializes it with the data folder `data` (the folder
    /// that holds `phontab`, `phondata`, …).
    pub fn load(library: &Path, data: &Path) -> Result<Self, String> {
        if !library.is_file() {
            return Err(format!("eSpeak NG library {} not found", library.display()));
        }
        for file in ["phontab", "phonindex", "phondata", "intonations"] {
            if !data.join(file).is_file() {
                return Err(format!(
                    "eSpeak NG data folder {} lacks {file}",
                    data.display()
                ));
            }
        }
        let data_c = CString::new(data.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("data path {} contains a NUL byte", data.display()))?;
        // SAFETY: loading a shared library runs its initializers; libespeak-ng's only set up
        // static tables. The path was checked to be a file.
        let library_handle = unsafe { libloading::Library::new(library) }
            .map_err(|e| format!("cannot load {}: {e}", library.display()))?;
        // SAFETY: each symbol is looked up with the signature declared in eSpeak NG's
        // `speak_lib.h` (1.52); the pointers are only used while `_library` is alive.
        let (initialize, info, set_voice_by_name, text_to_phonemes) = unsafe {
            let symbol = |name: &str| format!("{} has no {name}", library.display());
            (
                *library_handle
                    .get::<Initialize>(b"espeak_Initialize\0")
                    .map_err(|_| symbol("espeak_Initialize"))?,
                *library_handle
                    .get::<Info>(b"espeak_Info\0")
                    .map_err(|_| symbol("espeak_Info"))?,
                *library_handle
                    .get::<SetVoiceByName>(b"espeak_SetVoiceByName\0")
                    .map_err(|_| symbol("espeak_SetVoiceByName"))?,
                *library_handle
                    .get::<TextToPhonemes>(b"espeak_TextToPhonemes\0")
                    .map_err(|_| symbol("espeak_TextToPhonemes"))?,
            )
        };
        // SAFETY: `data_c` is a valid NUL-terminated string that outlives the call; with
        // DONT_EXIT a failure returns a negative value instead of ending the process.
        let rate = unsafe {
            initialize(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                data_c.as_ptr(),
                INITIALIZE_DONT_EXIT,
            )
        };
        if rate <= 0 {
            return Err(format!(
                "espeak_Initialize failed with the data folder {} (status {rate})",
                data.display()
            ));
        }
        // SAFETY: `espeak_Info` accepts NULL for the data-path out-parameter and returns a
        // static NUL-terminated version string.
        let version = unsafe {
            let v = info(std::ptr::null_mut());
            if v.is_null() {
                String::new()
            } else {
                CStr::from_ptr(v).to_string_lossy().into_owned()
            }
        };
        Ok(Self {
            set_voice_by_name,
            text_to_phonemes,
            version,
            _library: library_handle,
        })
    }

    /// The library's version, e.g. `1.52.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Selects a voice by name (e.g. `en-us`).
    pub fn set_voice(&mut self, name: &str) -> Result<(), String> {
        let name_c =
            CString::new(name).map_err(|_| "the voice name contains a NUL character".to_owned())?;
        // SAFETY: a valid NUL-terminated string that outlives the call.
        let status = unsafe { (self.set_voice_by_name)(name_c.as_ptr()) };
        if status == 0 {
            Ok(())
        } else {
            Err(format!(
                "unknown eSpeak NG voice {name:?} (status {status})"
            ))
        }
    }

    /// Splits `text` into clauses and phonemizes each, as repeated calls of
    /// `espeak_TextToPhonemes` do. `text` must not contain NUL bytes (they would end it early).
    pub fn clauses(&mut self, text: &CStr) -> Vec<Clause> {
        let start = text.as_ptr();
        let mut pointer: *const c_void = start.cast();
        let mut clauses = Vec::new();
        while !pointer.is_null() {
            // SAFETY: `pointer` is NULL-checked and points into `text` (eSpeak advances it within
            // the NUL-terminated buffer, or sets it to NULL at the end); the returned string is
            // eSpeak's static buffer, copied before the next call.
            let phonemes = unsafe {
                let out = (self.text_to_phonemes)(&mut pointer, CHARS_AUTO, PHONEMES_IPA);
                if out.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(out).to_string_lossy().into_owned()
                }
            };
            let next = (!pointer.is_null()).then(|| {
                (pointer as usize)
                    .saturating_sub(start as usize)
                    .min(text.to_bytes().len())
            });
            let stuck =
                next.is_some_and(|n| clauses.last().is_some_and(|c: &Clause| c.next >= Some(n)));
            clauses.push(Clause { phonemes, next });
            if stuck {
                // Never seen; guards against looping forever if eSpeak stops advancing.
                break;
            }
        }
        clauses
    }
}
