"""Speech recognition and word error rate, for checking that synthesized speech is intelligible.

Used by the SDK suite (tests/sdk/test_piper_speech.py, with .venv-sdk) and by the reference
pipeline (bench/peers/piper_reference.py, with .venv-piper-peer): both import this one file, so
the function and Piper's own pipeline are scored by the same recognizer and the same rules.

- `transcribe(audio, rate=None)`: PocketSphinx (PyPI `pocketsphinx` 5.1.1, its bundled US English
  acoustic model, language model and dictionary). `audio` is a path to any file ffmpeg reads, or
  numpy samples (float in [-1, 1] or int16) with their `rate`. ffmpeg resamples to what the model
  was trained on: 16 kHz mono s16le (a proper low-pass resampler, not sample dropping).
- `segments(audio, rate=None)`: the same recognizer's word segmentation (word, start, end in
  seconds), for checking word timestamps against an independent aligner.
- `normalize(text)`: the words compared, the same rule for reference and hypothesis: lower case,
  hyphens split words, other punctuation (apostrophes too) dropped, and the few spellings the
  recognizer's dictionary uses for a spoken word mapped to that word ("mr" -> "mister").
- `word_errors(reference, hypothesis)`: word-level Levenshtein distance (substitutions,
  deletions, insertions), `wer(...)` the same over the reference's word count, and `score(pairs)`
  the corpus WER: total edits / total reference words.

The references are the words a listener hears (eSpeak NG's reading of numbers and abbreviations,
tests/sdk/piper_sentences.json `spoken`), not the text sent: the score compares words to words.
"""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import numpy as np

# The rate and format of PocketSphinx's bundled en-us acoustic model.
ASR_RATE = 16000

# Spellings the recognizer's dictionary (cmudict-en-us) writes for a spoken word, mapped to that
# word. Applied to both sides, so a reference may use either.
SPELLINGS = {
    "dr": "doctor",
    "mr": "mister",
    "mrs": "missus",
    "ok": "okay",
}

_decoder = None
_decoder_lock = threading.Lock()


def _get_decoder():
    """One PocketSphinx decoder per process (loading the model takes ~0.3 s); not thread-safe."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        _decoder = Decoder(samprate=ASR_RATE, loglevel="FATAL")
    return _decoder


def to_asr_pcm(audio, rate: int | None = None) -> bytes:
    """Any audio → 16 kHz mono s16le bytes, resampled by ffmpeg.

    `audio`: a path (WAV or anything ffmpeg decodes; `rate` must then be None), or numpy samples
    (float in [-1, 1], or int16) at `rate` Hz.
    """
    if isinstance(audio, (str, Path)):
        if rate is not None:
            raise ValueError("rate is read from the file; pass it only with numpy samples")
        source, stdin = ["-i", str(audio)], None
    else:
        if rate is None:
            raise ValueError("numpy samples need their rate")
        samples = np.asarray(audio)
        if samples.ndim != 1:
            raise ValueError(f"mono samples expected, got shape {samples.shape}")
        if samples.dtype == np.int16:
            samples = samples.astype(np.float32) / 32768.0
        stdin = samples.astype("<f4").tobytes()
        source = ["-f", "f32le", "-ar", str(int(rate)), "-ac", "1", "-i", "pipe:0"]
    command = ["ffmpeg", "-v", "error", "-nostdin", *source, "-f", "s16le", "-ac", "1", "-ar", str(ASR_RATE), "pipe:1"]
    done = subprocess.run(command, input=stdin, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.decode(errors='replace')[-1000:]}")
    return done.stdout


def _recognize(audio, rate: int | None, read):
    """Decodes one utterance and returns `read(decoder)`, taken while the decoder is held."""
    pcm = to_asr_pcm(audio, rate)
    with _decoder_lock:
        decoder = _get_decoder()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return read(decoder)


def transcribe(audio, rate: int | None = None) -> str:
    """The recognizer's transcript (lower-case words, fillers left out) of one utterance."""
    hypothesis = _recognize(audio, rate, lambda decoder: decoder.hyp())
    return hypothesis.hypstr if hypothesis is not None else ""


def segments(audio, rate: int | None = None) -> list[tuple[str, float, float]]:
    """The recognizer's word segmentation of one utterance: (word, start s, end s) per recognized
    word, in order (silences, fillers and noise left out; alternate pronunciations' "(2)" marks
    dropped). PocketSphinx's frames are 10 ms."""
    found = _recognize(
        audio, rate, lambda decoder: [(s.word, s.start_frame / 100.0, s.end_frame / 100.0) for s in decoder.seg()]
    )
    words = []
    for word, start, end in found:
        if word.startswith(("<", "[")):
            continue
        words.append((re.sub(r"\(\d+\)$", "", word), start, end))
    return words


def normalize(text: str) -> list[str]:
    """The words compared: lower case, hyphens split words, other punctuation dropped."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9\s]", "", text)
    return [SPELLINGS.get(word, word) for word in text.split()]


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level Levenshtein distance between the normalized texts."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one pair: edits / reference words."""
    words = len(normalize(reference))
    if words == 0:
        raise ValueError("empty reference")
    return word_errors(reference, hypothesis) / words


def score(pairs) -> dict:
    """Corpus WER of (reference, hypothesis) pairs: total edits / total reference words."""
    edits = words = 0
    for reference, hypothesis in pairs:
        edits += word_errors(reference, hypothesis)
        words += len(normalize(reference))
    if words == 0:
        raise ValueError("no reference words")
    return {"edits": edits, "words": words, "wer": edits / words}
