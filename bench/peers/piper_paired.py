#!/usr/bin/env python3
"""Paired peer: this function against Piper's own pipeline (piper-tts 1.8 on onnxruntime), same
voice (joe), same texts, same threads, alternating in one run.

Python deps: bench/peers/requirements-piper.txt, in .venv-piper-peer (bench/peers/piper_paired.sh
creates it, builds the release function and runs this script).

Starts the release `bootstrap` as a plain local server on the Piper voice alone (one utterance at
a time, `--threads` inference threads, no pause between sentences: piper's CLI default) and loads
piper-tts with onnxruntime on `--threads` intra-op threads. Then, per round and text, one buffered
WAV request to the function and one `PiperVoice.synthesize` of the same text, the order swapped
every round. The function's time is its own `x-processing-seconds` (normalization, phonemes,
inference, encoding; not HTTP), piper-tts's the wall time of its synthesis (phonemes, inference,
int16 conversion); each real-time factor divides by that call's own audio seconds (the voice's
noise changes durations). Each pair gives a ratio, function RTF / piper-tts RTF; the report takes
the median ratio per text (< 1: the function is faster).

Streaming: `--stream-rounds` requests of the load test's 193-character two-sentence input with
`stream_format: "audio"` (pcm) over a raw socket: time to the first audio byte (after the
headers), as the load test measures it; beside it, piper-tts's time to its first sentence's
audio (its own streaming unit), paired the same way.

Prints one JSON object (also written to --out).

Example:
  bench/peers/piper_paired.sh --rounds 8 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import piper_reference  # noqa: E402  (bench/peers/piper_reference.py: its load_voice)

TEXTS = {
    "short": "Hello there, how are you today?",
    "medium": "The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill.",
    "long": (
        "After the long rain stopped, we walked slowly down the hill to the old station. "
        "The last train of the evening was already waiting, its doors open and its windows bright. "
        "Nobody said a word; we climbed aboard and watched the town disappear behind us."
    ),
}
# The load test's streamed input (loadtest/src/main.rs, STREAM_INPUT).
STREAM_INPUT = (
    "The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill. "
    "Then the dog wakes up, stretches slowly, and wanders off to find a quiet corner of the sunny garden."
)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cpu_flags() -> list[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = line.split(":", 1)[1].split()
            return [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return []


class Function:
    """The release bootstrap on the Piper voice, as a local server."""

    def __init__(self, bootstrap: Path, threads: int, log: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="tts-paired-"))
        voice = REPO / ".models/piper-joe"
        (self.dir / "tts.toml").write_text(
            "[limits]\nslots = 1\nmax_queue = 4\nsentence_pause_ms = 0\n\n"
            f'[[models]]\nid = "piper-joe"\nfamily = "piper"\ndir = "{voice}"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TTS_", "AWS_LAMBDA"))}
        env.update(
            TTS_CONFIG=str(self.dir / "tts.toml"),
            TTS_BIND="127.0.0.1:0",
            TTS_THREADS=str(threads),
            TTS_PRECISION="f32",
            RUST_LOG="warn",
            NO_COLOR="1",
        )
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(bootstrap)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        deadline = time.monotonic() + 120
        self.url = None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        if self.url is None:
            self.process.kill()
            raise SystemExit(f"the function did not start: see {log}")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.host, self.port = self.url.removeprefix("http://").split(":")

    def speak(self, text: str) -> tuple[float, float]:
        """(processing seconds, audio seconds) of one buffered WAV answer."""
        body = json.dumps({"model": "piper-joe", "input": text, "voice": "alloy", "response_format": "wav"}).encode()
        request = urllib.request.Request(
            f"{self.url}/v1/audio/speech", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return float(response.headers["x-processing-seconds"]), float(response.headers["x-audio-duration-seconds"])

    def first_byte(self, text: str) -> float:
        """Seconds from sending a streamed pcm request to its first audio byte (raw socket)."""
        body = json.dumps(
            {"model": "piper-joe", "input": text, "voice": "alloy", "response_format": "pcm", "stream_format": "audio"}
        ).encode()
        head = (
            f"POST /v1/audio/speech HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((self.host, int(self.port)), timeout=60) as sock:
            started = time.perf_counter()
            sock.sendall(head + body)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("closed before the headers")
                received += chunk
            status = received.split(b" ", 2)[1]
            if status != b"200":
                raise RuntimeError(f"status {status!r}: {received[:300]!r}")
            rest = received.split(b"\r\n\r\n", 1)[1]
            # Chunked transfer: the first chunk with audio in it.
            while True:
                match = re.match(rb"([0-9a-fA-F]+)\r\n", rest)
                if match and int(match.group(1), 16) > 0 and len(rest) > match.end():
                    break
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("closed before any audio")
                rest += chunk
            first = time.perf_counter() - started
            while sock.recv(65536):
                pass
            return first

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Peer:
    """piper-tts on onnxruntime, as `python -m piper` runs the voice."""

    def __init__(self, threads: int):
        import onnxruntime

        # The same voice loading as the intelligibility peer (piper_reference.py), not a copy.
        self.voice = piper_reference.load_voice(threads)
        self.versions = {
            "piper-tts": version("piper-tts"),
            "onnxruntime": onnxruntime.__version__,
        }

    def speak(self, text: str) -> tuple[float, float]:
        started = time.perf_counter()
        samples = 0
        for chunk in self.voice.synthesize(text):
            samples += len(chunk.audio_int16_bytes) // 2
        return time.perf_counter() - started, samples / self.voice.config.sample_rate

    def first_audio(self, text: str) -> float:
        started = time.perf_counter()
        for _ in self.voice.synthesize(text):
            return time.perf_counter() - started
        raise RuntimeError("no audio")


def version(package: str) -> str:
    from importlib.metadata import version as v

    return v(package)


def quantiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]

    return {"p10": q(0.1), "p50": statistics.median(ordered), "p90": q(0.9), "n": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", type=Path, default=REPO / "target/release/bootstrap")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--stream-rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--log", type=Path, default=REPO / "target/piper-paired-function.log")
    args = parser.parse_args()

    peer = Peer(args.threads)
    function = Function(args.bootstrap, args.threads, args.log)
    try:
        for text in [*TEXTS.values(), STREAM_INPUT]:  # warm-up: first inferences, caches
            function.speak(text)
            peer.speak(text)
        pairs = {label: [] for label in TEXTS}
        for round_no in range(args.rounds):
            for label, text in TEXTS.items():
                order = ("function", "peer") if round_no % 2 == 0 else ("peer", "function")
                got = {}
                for who in order:
                    took, audio = (function if who == "function" else peer).speak(text)
                    got[who] = {"seconds": took, "audio_seconds": audio, "rtf": took / audio}
                got["ratio"] = got["function"]["rtf"] / got["peer"]["rtf"]
                got["first"] = order[0]
                pairs[label].append(got)
        stream = []
        for round_no in range(args.stream_rounds):
            order = ("function", "peer") if round_no % 2 == 0 else ("peer", "function")
            got = {}
            for who in order:
                got[who] = function.first_byte(STREAM_INPUT) if who == "function" else peer.first_audio(STREAM_INPUT)
            stream.append(got)
    finally:
        function.stop()

    texts = {}
    for label, runs in pairs.items():
        texts[label] = {
            "chars": len(TEXTS[label]),
            "text": TEXTS[label],
            "function_rtf": quantiles([r["function"]["rtf"] for r in runs]),
            "peer_rtf": quantiles([r["peer"]["rtf"] for r in runs]),
            "ratio": quantiles([r["ratio"] for r in runs]),
            "pairs": runs,
        }
    report = {
        "cpu": cpu_name(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "rounds": args.rounds,
        "peer": peer.versions,
        "function": "x-processing-seconds of target/release/bootstrap (slots 1, f32, no sentence pause)",
        "texts": texts,
        "stream": {
            "input_chars": len(STREAM_INPUT),
            "function_first_byte_ms": quantiles([s["function"] * 1e3 for s in stream]),
            "peer_first_audio_ms": quantiles([s["peer"] * 1e3 for s in stream]),
        },
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    for label, t in texts.items():
        print(
            f"{label:6s} ({t['chars']:3d} chars): function RTF {t['function_rtf']['p50']:.3f}, "
            f"piper-tts {t['peer_rtf']['p50']:.3f}, ratio p50 {t['ratio']['p50']:.2f} "
            f"(p10 {t['ratio']['p10']:.2f}, p90 {t['ratio']['p90']:.2f})",
            file=sys.stderr,
        )
    s = report["stream"]
    print(
        f"stream ({s['input_chars']} chars): function first audio byte p50 {s['function_first_byte_ms']['p50']:.0f} ms "
        f"(p90 {s['function_first_byte_ms']['p90']:.0f}); piper-tts first sentence {s['peer_first_audio_ms']['p50']:.0f} ms",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
