"""Streamed speech through the official SDK and a raw SSE client, against the function under
`cargo lambda watch` with the streaming runner (TTS_INVOKE_MODE=RESPONSE_STREAM): `stream_format`
"audio" arrives in chunks that join into audio that decodes and matches the whole-body answer;
"sse" gives OpenAI's `speech.audio.delta` events (base64 audio) and one `speech.audio.done` with
usage. Both models: SpeechT5 (deterministic, so joined audio is compared sample by sample) and
the default Piper voice (random noise inside, so compared by duration and decodability)."""

from __future__ import annotations

import base64
import json
import time

import httpx2
import numpy as np
import pytest

from conftest import HTTP_TIMEOUT, decode, make_client, probe

LONG = "The quick brown fox jumps over the lazy dog. " * 30


def pcm_samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768


@pytest.fixture(scope="session")
def stream_client(streaming_url):
    client = make_client(f"{streaming_url}/v1", timeout=120)
    # Watch starts the function at its first request: warm it, so timings measure streaming.
    client.audio.speech.with_raw_response.create(model="speecht5", voice="speaker_a", input="Hello.")
    return client


def read_stream(client, **params) -> tuple[bytes, list[float], dict]:
    """`with_streaming_response` as the SDK documents it; returns bytes, arrival times, headers."""
    started = time.monotonic()
    chunks, arrivals = [], []
    with client.audio.speech.with_streaming_response.create(**params) as response:
        headers = dict(response.headers)
        for chunk in response.iter_bytes():
            if chunk:
                chunks.append(chunk)
                arrivals.append(time.monotonic() - started)
    return b"".join(chunks), arrivals, headers


def sse_events(body: bytes) -> list[dict]:
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        data = [line[len("data: "):] for line in block.splitlines() if line.startswith("data: ")]
        assert data, f"an event without data: {block!r}"
        events.append(json.loads("\n".join(data)))
    return events


def test_stream_format_audio_arrives_in_chunks_that_match_the_whole_answer(stream_client, workdir):
    request = dict(model="speecht5", voice="speaker_a", input=LONG, response_format="pcm")
    streamed, arrivals, headers = read_stream(stream_client, stream_format="audio", **request)
    assert headers["content-type"].startswith("audio/pcm")
    assert len(arrivals) >= 2, f"{len(arrivals)} chunks"
    assert arrivals[0] < arrivals[-1] / 2, f"first chunk at {arrivals[0]:.2f} s of {arrivals[-1]:.2f} s"
    whole = stream_client.audio.speech.with_raw_response.create(**request).content
    a, b = pcm_samples(streamed), pcm_samples(whole)
    assert abs(len(a) - len(b)) <= 0.01 * len(b), (len(a), len(b))
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.99


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "flac"])
def test_every_streamable_format_decodes_when_joined(stream_client, fmt, workdir):
    streamed, _, headers = read_stream(
        stream_client, model="tts-1", voice="alloy", input="Streaming works in every format. " * 3,
        response_format=fmt, stream_format="audio",
    )
    path = workdir / f"stream.{fmt}"
    path.write_bytes(streamed)
    samples, rate = decode(path)
    assert len(samples) / rate > 2.0, f"{len(samples) / rate:.2f} s decoded"
    assert probe(path)["stream"]["channels"] == 1


def test_sse_events_follow_openais_schema_and_carry_the_same_audio(streaming_url, stream_client):
    request = dict(model="speecht5", voice="speaker_a", input=LONG, response_format="pcm")
    with httpx2.Client(timeout=120) as http:
        response = http.post(f"{streaming_url}/v1/audio/speech", json={**request, "stream_format": "sse"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.content)
    *deltas, done = events
    assert len(deltas) >= 2
    assert all(set(e) == {"type", "audio"} and e["type"] == "speech.audio.delta" for e in deltas), deltas[0]
    assert done["type"] == "speech.audio.done" and set(done) == {"type", "usage"}
    usage = done["usage"]
    assert set(usage) == {"input_tokens", "output_tokens", "total_tokens"}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    audio = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    whole = stream_client.audio.speech.with_raw_response.create(**request).content
    a, b = pcm_samples(audio), pcm_samples(whole)
    assert abs(len(a) - len(b)) <= 0.01 * len(b)
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.99


def test_the_sdk_reads_piper_sse_through_with_streaming_response(stream_client):
    body, _, headers = read_stream(
        stream_client, model="tts-1", voice="alloy", input="Hello there. How are you today?",
        response_format="pcm", stream_format="sse",
    )
    events = sse_events(body)
    assert events[-1]["type"] == "speech.audio.done"
    seconds = sum(len(base64.b64decode(e["audio"])) for e in events[:-1]) / 2 / 24000
    assert 1.0 < seconds < 6.0, seconds
