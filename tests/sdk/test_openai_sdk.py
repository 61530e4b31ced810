"""The function's OpenAI-compatible contract, as the official OpenAI Python SDK (and curl) meet it.

Guards, against the function running under `cargo lambda watch`: every `response_format`
(content type, codec, sample rate, duration against `x-audio-duration-seconds`, non-silence,
all checked with ffmpeg/ffprobe, a decoder independent of the function), the default format of
each path (`/v1` mp3, `/v3` wav), the OpenAI voice names and voice objects, `speed` (duration
scales, pitch kept), `instructions` and `stream_format` validation, `/v1` and `/v3` answering the
same bytes, OpenVINO Model Server's documented client calls, long and invalid inputs, the
discovery routes (also under watch's `/lambda-url/<name>/` prefix), the timing headers, and that
the Lambda adapter changes no byte compared with the plain local server.

The model is the tiny random-weight SpeechT5 fixture: it speaks noise, but real, non-silent
16 kHz audio whose length depends on the text and the voice.
"""

from __future__ import annotations

import io
import subprocess
import wave

import numpy as np
import openai
import pytest

from conftest import (
    FUNCTION_ENV,
    REPO,
    HTTP_TIMEOUT,
    decode,
    http,
    make_client,
    median_frequency,
    probe,
    rms,
    start_watch,
    stop,
)

OPENAI_VOICES = [
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx",
    "nova", "sage", "shimmer", "verse", "marin", "cedar",
]
# The two served models, as (model name, a voice, its sample rate, a text it speaks): the default
# Piper voice (under OpenAI's name tts-1) and the tiny random-weight SpeechT5, which is
# deterministic, so the tests that compare bytes use it. The SpeechT5 text comes from the `text`
# fixture (the random model stops early on some texts).
PIPER = ("tts-1", "alloy", 22050, "Hello world, this is a test of the speech function.")
SPEECHT5_RATE = 16000
# Content type, and what an independent decoder must find, for each response_format; "model" in
# a rate set stands for the model's own rate.
FORMATS = {
    "mp3": {"content_type": "audio/mpeg", "codec": "mp3", "rates": {"model", 24000}},
    "opus": {"content_type": "audio/ogg", "codec": "opus", "rates": {48000}, "container": "ogg"},
    "aac": {"content_type": "audio/aac", "codec": "aac", "container": "aac"},
    "flac": {"content_type": "audio/flac", "codec": "flac", "rates": {"model"}, "container": "flac"},
    "wav": {"content_type": "audio/wav", "codec": "pcm_s16le", "rates": {"model"}, "container": "wav"},
    "pcm": {"content_type": "audio/pcm"},
}
LOSSLESS = {"wav", "flac", "pcm"}
# Texts tried in order for a clip long enough to measure (the random model stops early on some).
CANDIDATE_TEXTS = [
    "Hello world.",
    "Hello.",
    "Testing one two three.",
    "Speech synthesis turns written text into sound.",
    "The quick brown fox jumped over the lazy dog.",
]
LONG_TEXT_SENTENCES = [
    "The coffee cost $3.50 at 10:30 this morning.",
    "Prices rose 42% in 2024, and 7 of 10 shops agreed.",
    "Call me at 555-0142 before 6 pm on March 3rd.",
    "Dr. Smith measured 98.6 degrees, which is normal.",
    "The train leaves platform 9 at 11:45, so don't be late!",
]


def long_text(chars: int = 3000) -> str:
    text = ""
    i = 0
    while len(text) < chars:
        text += LONG_TEXT_SENTENCES[i % len(LONG_TEXT_SENTENCES)] + " "
        i += 1
    return text[:chars].rstrip() + "."


def header_seconds(headers) -> float:
    return float(headers["x-audio-duration-seconds"])


def speak(client: openai.OpenAI, **params):
    """`audio.speech.create` through `with_raw_response`: returns (headers, bytes)."""
    response = client.audio.speech.with_raw_response.create(**params)
    return response.headers, response.content


def wav_seconds(client: openai.OpenAI, text: str, voice: str = "speaker_a", **extra) -> float:
    headers, _ = speak(client, model="speecht5", voice=voice, input=text, response_format="wav", **extra)
    return header_seconds(headers)


@pytest.fixture(scope="session")
def text(client) -> str:
    """A text the tiny model speaks for at least 0.8 s with speaker_a (long enough to measure)."""
    best = (0.0, CANDIDATE_TEXTS[0])
    for candidate in CANDIDATE_TEXTS:
        seconds = wav_seconds(client, candidate)
        if seconds >= 0.8:
            return candidate
        best = max(best, (seconds, candidate))
    return best[1]


def assert_openai_error(error: openai.APIStatusError, status: int, param: str | None = None):
    assert error.status_code == status, f"expected {status}, got {error.status_code}: {error.body}"
    assert isinstance(error.body, dict) and "message" in error.body, f"not OpenAI's error shape: {error.body}"
    assert error.body.get("type") == "invalid_request_error", error.body
    if param is not None:
        assert error.param == param, f"expected param {param!r}: {error.body}"


def check_audio(path, fmt: str, headers, model_rate: int = SPEECHT5_RATE) -> np.ndarray:
    """Decodes `path` with ffmpeg and checks codec, rate (`model_rate` where the format keeps the
    model's), duration and non-silence; returns samples."""
    spec = FORMATS[fmt]
    if fmt == "pcm":
        size = path.stat().st_size
        assert size % 2 == 0, f"raw s16le must have an even size, got {size}"
        samples, rate = decode(path, raw_pcm_rate=24000)
    else:
        info = probe(path)
        stream, container = info["stream"], info["format"]
        assert stream["codec_name"] == spec["codec"], f"codec {stream['codec_name']}, want {spec['codec']}"
        if "container" in spec:
            assert spec["container"] in container["format_name"].split(","), container["format_name"]
        assert int(stream["channels"]) == 1, f"{stream['channels']} channels, want mono"
        if "rates" in spec:
            rates = {model_rate if r == "model" else r for r in spec["rates"]}
            assert int(stream["sample_rate"]) in rates, f"rate {stream['sample_rate']}, want {rates}"
        samples, rate = decode(path)
    decoded = len(samples) / rate
    expected = header_seconds(headers)
    # Lossless formats carry exactly the samples; lossy codecs may pad by a frame or so.
    tolerance = 0.02 if fmt in LOSSLESS else 0.1
    padding = 0.0 if fmt in LOSSLESS else 0.1
    assert expected - tolerance <= decoded <= expected + tolerance + padding, (
        f"decoded {decoded:.3f} s, x-audio-duration-seconds says {expected:.3f} s"
    )
    assert rms(samples) > 0.005, f"decoded audio is (nearly) silent: RMS {rms(samples):.5f}"
    return samples


# ---- formats ------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["speecht5", "tts-1"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_response_format_is_what_an_independent_decoder_expects(client, text, model, fmt, workdir):
    name, voice, rate, words = PIPER if model == "tts-1" else ("speecht5", "speaker_a", SPEECHT5_RATE, text)
    try:
        headers, body = speak(client, model=name, voice=voice, input=words, response_format=fmt)
    except openai.BadRequestError as error:
        if fmt != "aac":
            raise
        # AAC may be built out of the default build: then exactly this 400.
        assert_openai_error(error, 400, "response_format")
        return
    assert headers["content-type"].split(";")[0].strip() == FORMATS[fmt]["content_type"]
    assert int(headers["x-audio-sample-rate"]) == (24000 if fmt in ("pcm", "opus") else rate) or fmt == "aac"
    path = workdir / f"speech.{fmt}"
    path.write_bytes(body)
    check_audio(path, fmt, headers, rate)


def test_v1_answers_mp3_when_no_response_format_is_given(client, text, workdir):
    headers, body = speak(client, model="speecht5", voice="speaker_a", input=text)
    assert headers["content-type"].split(";")[0] == "audio/mpeg"
    path = workdir / "speech.mp3"
    path.write_bytes(body)
    check_audio(path, "mp3", headers)


def test_v3_answers_wav_when_no_response_format_is_given(client_v3, text, workdir):
    headers, body = speak(client_v3, model="speecht5", voice="speaker_a", input=text)
    assert headers["content-type"].split(";")[0] == "audio/wav"
    path = workdir / "speech.wav"
    path.write_bytes(body)
    check_audio(path, "wav", headers)


# ---- voices and models --------------------------------------------------------------------------

@pytest.mark.parametrize("voice", OPENAI_VOICES)
def test_every_openai_voice_name_speaks_with_model_tts_1(client, voice, workdir):
    name, _, rate, words = PIPER
    headers, body = speak(client, model=name, voice=voice, input=words, response_format="wav")
    assert headers["x-tts-model"] == "piper-joe" and headers["x-tts-voice"] == "joe", dict(headers)
    path = workdir / "speech.wav"
    path.write_bytes(body)
    check_audio(path, "wav", headers, rate)


def test_a_voice_object_with_an_id_selects_that_voice(client, text):
    _, by_object = speak(client, model="speecht5", voice={"id": "speaker_b"}, input=text, response_format="wav")
    _, by_name = speak(client, model="speecht5", voice="speaker_b", input=text, response_format="wav")
    _, other = speak(client, model="speecht5", voice="speaker_a", input=text, response_format="wav")
    assert by_object == by_name
    assert by_object != other


def test_an_unknown_voice_on_v1_is_a_bad_request_naming_voice(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="no-such-voice", input="Hello.", response_format="wav")
    assert_openai_error(caught.value, 400, "voice")


def test_an_unknown_model_is_not_found_with_code_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.speech.create(model="no-such-model", voice="speaker_a", input="Hello.", response_format="wav")
    assert caught.value.code == "model_not_found", caught.value.body


# ---- speed --------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["speecht5", "tts-1"])
def test_speed_half_and_double_scale_the_duration_and_keep_the_pitch(client, text, model, workdir):
    name, voice, rate, words = PIPER if model == "tts-1" else ("speecht5", "speaker_a", SPEECHT5_RATE, text)
    clips = {}
    for speed in (1.0, 0.5, 2.0):
        headers, body = speak(client, model=name, voice=voice, input=words, response_format="wav", speed=speed)
        path = workdir / f"speed-{speed}.wav"
        path.write_bytes(body)
        samples = check_audio(path, "wav", headers, rate)
        clips[speed] = (len(samples) / rate, samples)
    base_seconds, base_samples = clips[1.0]
    for speed, want in ((0.5, 2.0), (2.0, 0.5)):
        ratio = clips[speed][0] / base_seconds
        assert abs(ratio - want) <= 0.15 * want, (
            f"speed {speed}: duration {clips[speed][0]:.3f} s is {ratio:.2f}x of speed 1.0's {base_seconds:.3f} s, want ~{want}x"
        )
    base_pitch = median_frequency(base_samples, rate)
    for speed in (0.5, 2.0):
        pitch = median_frequency(clips[speed][1], rate)
        assert abs(pitch / base_pitch - 1) <= 0.15, (
            f"speed {speed} moved the spectrum: median frequency {pitch:.0f} Hz vs {base_pitch:.0f} Hz at speed 1.0 (pitch not kept)"
        )


@pytest.mark.parametrize("speed", [0.1, 5])
def test_a_speed_outside_a_quarter_to_four_is_a_bad_request_naming_speed(client, speed):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speecht5", voice="speaker_a", input="Hello.", response_format="wav", speed=speed)
    assert_openai_error(caught.value, 400, "speed")


# ---- instructions and stream_format -------------------------------------------------------------

def test_instructions_up_to_4096_characters_are_accepted(client):
    instructions = ("Speak calmly and warmly, like a patient teacher. " * 100)[:4096]
    assert len(instructions) == 4096
    headers, body = speak(
        client, model="gpt-4o-mini-tts", voice="alloy", input="Hello world.",
        response_format="wav", instructions=instructions,
    )
    assert body[:4] == b"RIFF"


def test_instructions_of_4097_characters_are_a_bad_request_naming_instructions(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="alloy", input="Hello.", response_format="wav", instructions="x" * 4097,
        )
    assert_openai_error(caught.value, 400, "instructions")


def test_stream_format_sse_under_the_buffered_invoke_mode_is_a_bad_request_naming_the_fix(client):
    # This watch runs the function with the buffered runner (TTS_INVOKE_MODE unset): no streams.
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="alloy", input="Hello.", response_format="wav", stream_format="sse",
        )
    assert_openai_error(caught.value, 400, "stream_format")
    assert "RESPONSE_STREAM" in caught.value.message


def test_an_invalid_stream_format_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(
            model="speecht5", voice="speaker_a", input="Hello.", response_format="wav", extra_body={"stream_format": "bogus"},
        )
    assert_openai_error(caught.value, 400)


# ---- the two paths ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,speed", [("wav", 1.0), ("mp3", 1.0), ("flac", 1.5)])
def test_v3_answers_the_same_bytes_as_v1_for_the_same_request(client, client_v3, text, fmt, speed):
    request = dict(model="speecht5", voice="speaker_b", input=text, response_format=fmt, speed=speed)
    _, from_v1 = speak(client, **request)
    _, from_v3 = speak(client_v3, **request)
    assert len(from_v1) > 0
    assert from_v1 == from_v3


def test_the_model_servers_documented_curl_call_writes_a_wav(function_url, workdir):
    path = workdir / "speech.wav"
    body = '{"model": "microsoft/speecht5_tts", "input": "The quick brown fox jumped over the lazy dog."}'
    done = subprocess.run(
        # --retry 1: once more on a timeout or a 5xx (watch sometimes loses an answer, see conftest).
        ["curl", "-sS", "--max-time", str(int(HTTP_TIMEOUT)), "--retry", "1", "-w", "%{http_code}",
         f"{function_url}/v3/audio/speech", "-H", "Content-Type: application/json", "-d", body, "-o", str(path)],
        capture_output=True, timeout=2 * HTTP_TIMEOUT + 10, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "200", f"HTTP {done.stdout}: {path.read_bytes()[:300]!r}"
    info = probe(path)
    assert info["format"]["format_name"] == "wav"
    assert int(info["stream"]["sample_rate"]) == SPEECHT5_RATE


def test_the_model_servers_documented_sdk_call_streams_a_wav_with_the_fallback_voice(client_v3, workdir):
    path = workdir / "speech.wav"
    prompt = "The quick brown fox jumped over the lazy dog."
    with client_v3.audio.speech.with_streaming_response.create(
        model="microsoft/speecht5_tts", voice="unused", input=prompt
    ) as response:
        response.stream_to_file(path)
        assert response.headers.get("x-tts-voice-fallback") == "true"
    info = probe(path)
    assert info["format"]["format_name"] == "wav"
    assert info["stream"]["codec_name"].startswith("pcm_")


# ---- input --------------------------------------------------------------------------------------

def test_a_long_input_with_numbers_and_prices_speaks_longer_than_a_short_one(client, workdir):
    text = long_text(3000)
    assert len(text) <= 3001
    short_headers, _ = speak(client, model="speecht5", voice="speaker_a", input="Hello.", response_format="wav")
    headers, body = speak(
        client.with_options(timeout=180), model="speecht5", voice="speaker_a", input=text, response_format="wav"
    )
    path = workdir / "long.wav"
    path.write_bytes(body)
    check_audio(path, "wav", headers)
    assert header_seconds(headers) > header_seconds(short_headers)


def test_an_input_of_4097_characters_is_a_bad_request_naming_input(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speecht5", voice="speaker_a", input="a" * 4097, response_format="wav")
    assert_openai_error(caught.value, 400, "input")


def test_an_empty_input_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="speecht5", voice="speaker_a", input="", response_format="wav")
    assert_openai_error(caught.value, 400, "input")


# ---- discovery ----------------------------------------------------------------------------------

def test_the_model_list_names_speecht5_and_tts_1(client):
    ids = {model.id for model in client.models.list()}
    assert {"speecht5", "tts-1"} <= ids, ids


def test_the_voice_list_names_the_models_voices(function_url):
    reply = http("GET", f"{function_url}/v1/audio/voices")
    assert reply.status == 200, reply.body
    voices = {v if isinstance(v, str) else v.get("id") for entry in reply.json()["data"] for v in entry["voices"]}
    assert {"speaker_a", "speaker_b"} <= voices, reply.json()


@pytest.mark.parametrize("route", ["/health", "/v1/models", "/v1/audio/voices"])
def test_the_routes_also_answer_under_the_lambda_url_prefix_of_watch(function_url, route):
    plain = http("GET", f"{function_url}{route}")
    prefixed = http("GET", f"{function_url}/lambda-url/bootstrap{route}")
    assert plain.status == prefixed.status == 200, (plain.body, prefixed.body)
    assert plain.json() == prefixed.json()


def test_the_sdk_speaks_through_the_lambda_url_prefix(function_url):
    prefixed = make_client(f"{function_url}/lambda-url/bootstrap/v1")
    assert {"speecht5", "tts-1"} <= {m.id for m in prefixed.models.list()}
    headers, body = speak(prefixed, model="speecht5", voice="speaker_a", input="Hello.", response_format="wav")
    assert body[:4] == b"RIFF"


# ---- headers and the Lambda adapter -------------------------------------------------------------

def test_every_answer_carries_consistent_timing_headers(client, text):
    headers, body = speak(client, model="speecht5", voice="speaker_a", input=text, response_format="wav")
    audio = float(headers["x-audio-duration-seconds"])
    processing = float(headers["x-processing-seconds"])
    rtf = float(headers["x-real-time-factor"])
    assert audio > 0 and processing > 0 and rtf > 0
    with wave.open(io.BytesIO(body)) as w:
        assert abs(audio - w.getnframes() / w.getframerate()) <= 0.002
    assert rtf == pytest.approx(processing / audio, rel=0.05, abs=0.002)


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_the_lambda_adapter_answers_the_same_bytes_as_the_plain_local_server(client, local_url, text, fmt):
    request = dict(model="speecht5", voice="speaker_b", input=text, response_format=fmt)
    _, through_lambda = speak(client, **request)
    _, direct = speak(make_client(f"{local_url}/v1"), **request)
    assert through_lambda == direct


def test_settings_reach_the_function_through_the_environment_watch_inherits(tmp_path):
    config = tmp_path / "tts.toml"
    model_dir = REPO / "tests/fixtures/speecht5-tiny/model"
    config.write_text(
        f'[[models]]\nid = "env-file-model"\nfamily = "speecht5"\ndir = "{model_dir}"\naliases = ["tts-1"]\n'
    )
    env_file = tmp_path / "function.env"
    env_file.write_text(f"TTS_CONFIG={config}\n")
    url, process, _log, _ = start_watch(
        "watch-env", {**FUNCTION_ENV, "TTS_MAX_INPUT_CHARS": "20"}, ["--env-file", str(env_file)]
    )
    try:
        too_long = http("POST", f"{url}/v1/audio/speech", {"model": "tts-1", "voice": "speaker_a", "input": "x" * 21})
        assert too_long.status == 400, too_long.body
        assert too_long.json()["error"]["param"] == "input"
        models = http("GET", f"{url}/v1/models").json()
        assert {m["id"] for m in models["data"]} == {"env-file-model", "tts-1"}
    finally:
        stop(process)
