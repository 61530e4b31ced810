"""Guards the README: its `curl` and `openai` SDK examples run as written (only the host and
port are pointed at the function under test) and produce audio that ffprobe decodes."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO, decode, probe, rms

README = (REPO / "README.md").read_text()
DOCUMENTED_URL = "http://localhost:9000"


def code_block(language: str, must_contain: str) -> str:
    for block in re.findall(rf"```{language}\n(.*?)```", README, flags=re.S):
        if must_contain in block:
            return block
    raise AssertionError(f"README has no ```{language} block containing {must_contain!r}")


def test_the_readme_curl_example_writes_an_mp3(function_url, workdir):
    script = code_block("sh", "curl -s http://localhost:9000/v1/audio/speech")
    script = script.replace(DOCUMENTED_URL, function_url)
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=workdir, check=True, timeout=120)
    path = workdir / "speech.mp3"
    assert probe(path)["stream"]["codec_name"] == "mp3"
    samples, _ = decode(path)
    assert rms(samples) > 1e-3


def test_the_readme_sdk_example_writes_a_wav(function_url, workdir):
    script = code_block("python", "from openai import OpenAI")
    script = script.replace(DOCUMENTED_URL, function_url)
    subprocess.run([sys.executable, "-c", script], cwd=workdir, check=True, timeout=120)
    path = workdir / "speech.wav"
    info = probe(path)["stream"]
    assert info["codec_name"] == "pcm_s16le" and info["sample_rate"] == "22050"
    samples, _ = decode(path)
    assert rms(samples) > 1e-3


def test_the_readme_captions_example_writes_audio_captions_and_words(function_url, workdir):
    import json

    import webvtt

    script = code_block("sh", "curl -s http://localhost:9000/dev/captioned_speech")
    script = script.replace(DOCUMENTED_URL, function_url)
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=workdir, check=True, timeout=120,
                         capture_output=True).stdout.decode()
    assert probe(workdir / "captioned.mp3")["stream"]["codec_name"] == "mp3"
    words = [json.loads(line)["word"] for line in out.splitlines() if line.strip()]
    assert words == ["Dr.", "Smith", "paid", "$3.50", "at", "5 p.m.", "Then", "he", "left"], words
    cues = webvtt.read(str(workdir / "captioned.vtt"))
    assert " ".join(c.text.replace("\n", " ") for c in cues) == "Dr. Smith paid $3.50 at 5 p.m. Then he left."
