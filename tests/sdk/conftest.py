"""Fixtures of the SDK suite: the function as a client meets it.

Guards the way the project runs the function locally: the session fixture `function_url` builds
and starts it under `cargo lambda watch` (the Lambda runtime emulator, the same router as in AWS)
on a free loopback port, waits for `GET /health`, and stops the whole process group at the end.
`local_url` starts the plain local server (`target/debug/bootstrap`, no Lambda adapter) for
comparisons. Also holds the helpers every test uses: OpenAI SDK clients (`max_retries=0`, a
timeout on every call), raw HTTP with a timeout, and decoding with ffmpeg/ffprobe (a decoder
independent of the function) into numpy samples.

How configuration reaches the function under watch (measured with cargo-lambda 1.9.2): watch
starts the function with `cargo run`, and the function inherits watch's own environment;
`--env-var K=V` (a comma splits it) and `--env-file FILE` (one K=V a line, commas kept) add to it,
and override inherited values. The suite passes settings through the inherited environment.

Watch itself sometimes fails to deliver an answer the function has already given (measured with
cargo-lambda 1.9.2, about 1 request in 50-100 with 20-50 kB audio bodies): it answers its own
500 (`{"type":"https://httpstatuses.com/500",...}`, not OpenAI's error shape) or never answers.
The clients retry exactly those two cases (the SDK's own retries stay off, `max_retries=0`):
a missing answer once, watch's own 500 up to twice (a clean-clone CI run on a loaded 2-core
machine met it 8 times in ~150 requests with ~130 kB bodies, twice in a row for two of them);
they print each retry and list them at the end of the run; an OpenAI-shaped 500 from the
function, or a failure past the retries, fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import httpx2
import numpy as np
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
LOG_DIR = TARGET / "sdk-tests"
# The first build of the function may take minutes on a 2-core machine.
START_TIMEOUT = float(os.environ.get("SDK_START_TIMEOUT", "600"))
# Every request of the suite has a timeout; synthesis of the tiny model takes well under a second.
HTTP_TIMEOUT = 20.0
# A retry after watch lost an answer may wait for watch to start the function process again
# (a debug build loading its models takes several seconds on a 2-core machine).
RETRY_TIMEOUT = 90.0
# Requests retried because watch lost an answer (see the module docstring).
WATCH_FLAKES: list[str] = []
# (title, text) sections a test wants shown after the run even when it passes (e.g. transcripts).
SUMMARY_SECTIONS: list[tuple[str, str]] = []
# The settings the suite runs the function with (all through the inherited environment).
FUNCTION_ENV = {
    "TTS_PRECISION": "f32",
    "TTS_SLOTS": "1",
    "RUST_LOG": "info",
    "CARGO_TERM_COLOR": "never",
}


def progress(message: str) -> None:
    """Prints past pytest's capture, so a long first build shows it is alive."""
    print(f"[sdk] {message}", file=sys.__stderr__, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cargo_lambda() -> str:
    """cargo-lambda from $CARGO_LAMBDA, the repository's .venv-tools, or PATH."""
    for candidate in (
        os.environ.get("CARGO_LAMBDA"),
        str(REPO / ".venv-tools/bin/cargo-lambda"),
        shutil.which("cargo-lambda"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.exit("cargo-lambda is missing: run tests/sdk/setup.sh", returncode=3)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def is_watch_problem(status: int, body: bytes) -> bool:
    """Watch's own 500 (RFC 7807 problem), never the function's (OpenAI's `{"error": ...}`)."""
    return status == 500 and body.lstrip().startswith(b'{"type":"https://httpstatuses.com/')


def note_watch_flake(what: str) -> None:
    WATCH_FLAKES.append(what)
    progress(f"watch lost an answer, retrying once: {what}")


def http(method: str, url: str, body=None, headers=None, timeout: float = HTTP_TIMEOUT) -> Reply:
    """One raw HTTP request with a timeout; error statuses are returned, not raised."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    timed_out = False
    for attempt in (1, 2, 3):
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        wait = timeout if attempt == 1 else max(timeout, RETRY_TIMEOUT)
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:
                return Reply(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
                )
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
            if attempt < 3 and is_watch_problem(reply.status, reply.body):
                note_watch_flake(f"{method} {url}: watch's 500 {reply.body[:300]!r}")
                continue
            return reply
        except (TimeoutError, socket.timeout) as error:
            if timed_out or attempt == 3 or timeout <= 5:
                raise
            timed_out = True
            note_watch_flake(f"{method} {url}: no answer in {timeout:.0f} s ({error})")
    raise AssertionError("unreachable")


class WatchFlakeRetry(httpx2.HTTPTransport):
    """The SDK's transport, retrying on watch's own 500 (up to twice) or a read timeout (once).

    The retry waits up to RETRY_TIMEOUT: watch may be starting the function process again.
    """

    def retry(self, request):
        request.extensions = {
            **request.extensions,
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), RETRY_TIMEOUT),
        }
        return super().handle_request(request)

    def handle_request(self, request):
        what = f"{request.method} {request.url}"
        try:
            response = super().handle_request(request)
        except httpx2.ReadTimeout:
            note_watch_flake(f"{what}: no answer in time")
            response = self.retry(request)
        for _ in range(2):
            if response.status_code != 500:
                break
            body = response.read()
            if not is_watch_problem(500, body):
                break
            response.close()
            note_watch_flake(f"{what}: watch's 500 {body[:300]!r}")
            response = self.retry(request)
        return response


def wait_for_health(url: str, process: subprocess.Popen, log: Path, what: str) -> float:
    """Polls GET /health until 200; fails with the log's tail if the process dies or time runs out."""
    started = time.monotonic()
    last_report = started
    while True:
        elapsed = time.monotonic() - started
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode} before answering; log {log}:\n{tail(log)}")
        if elapsed > START_TIMEOUT:
            pytest.fail(f"{what} did not answer GET /health within {START_TIMEOUT:.0f} s; log {log}:\n{tail(log)}")
        try:
            if http("GET", f"{url}/health", timeout=5).status == 200:
                return elapsed
        except OSError:
            pass
        if time.monotonic() - last_report >= 15:
            last_report = time.monotonic()
            last = tail(log, 1).strip() or "(building)"
            progress(f"waiting for {what}: {elapsed:.0f} s; last log line: {last[:160]}")
        time.sleep(1)


def stop(process: subprocess.Popen) -> None:
    """Stops the whole process group (watch, cargo run and the function)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
    # Children of the group may outlive its leader.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start_watch(name: str, env: dict[str, str], extra_args: list[str] = ()):
    """Starts `cargo lambda watch` on a free loopback port; returns (url, process, log, seconds)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    port = free_port()
    command = [
        cargo_lambda(), "lambda", "watch",
        "-A", "127.0.0.1", "-P", str(port),
        "--ignore-changes",
        "--package", "tts-function", "--bin", "bootstrap",
        *extra_args,
    ]
    progress(f"starting {' '.join(command[1:])} (log: {log})")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        seconds = wait_for_health(url, process, log, f"cargo lambda watch ({name})")
    except BaseException:
        stop(process)
        raise
    progress(f"{name}: {url} answered GET /health after {seconds:.1f} s")
    return url, process, log, seconds


@pytest.fixture(scope="session")
def function_url():
    """Base URL of the function running under `cargo lambda watch`."""
    url, process, _log, _seconds = start_watch("watch", FUNCTION_ENV)
    yield url
    stop(process)


@pytest.fixture(scope="session")
def streaming_url(function_url):
    """The function under a second `cargo lambda watch` with lambda_http's streaming runner, as a
    function URL with InvokeMode RESPONSE_STREAM runs it (started after the first, so the build
    is done)."""
    url, process, _log, _seconds = start_watch(
        "watch-stream", {**FUNCTION_ENV, "TTS_INVOKE_MODE": "RESPONSE_STREAM"}
    )
    yield url
    stop(process)


@pytest.fixture(scope="session")
def local_url(function_url):
    """Base URL of the plain local server (`target/debug/bootstrap`, built by watch's cargo run)."""
    url, process, _log = start_local("local", {})
    yield url
    stop(process)


def start_local(name: str, env: dict[str, str]) -> tuple[str, subprocess.Popen, Path]:
    """Starts `target/debug/bootstrap` as a plain local server with FUNCTION_ENV and `env`;
    returns its URL, process and log (LOG_DIR/<name>.log) once it answers /health."""
    binary = TARGET / "debug" / "bootstrap"
    assert binary.is_file(), f"{binary} is missing (watch should have built it)"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(binary)], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
            env={**os.environ, **FUNCTION_ENV, "TTS_BIND": "127.0.0.1:0", **env}, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        url = None
        while time.monotonic() < deadline and url is None:
            line = process.stdout.readline().decode(errors="replace")
            if not line and process.poll() is not None:
                pytest.fail(f"bootstrap exited with {process.returncode}; log {log}:\n{tail(log)}")
            if line.startswith("listening on "):
                url = line.split()[-1].strip()
        assert url, f"bootstrap printed no 'listening on' line within 60 s; log {log}:\n{tail(log)}"
        wait_for_health(url, process, log, "bootstrap")
    except BaseException:
        stop(process)
        raise
    return url, process, log


def make_client(base_url: str, timeout: float = HTTP_TIMEOUT) -> openai.OpenAI:
    """The official SDK client: no SDK retries, a timeout on every call."""
    return openai.OpenAI(
        base_url=base_url, api_key="unused", max_retries=0, timeout=timeout,
        http_client=openai.DefaultHttpxClient(transport=WatchFlakeRetry(), timeout=timeout),
    )


def pytest_terminal_summary(terminalreporter):
    for title, text in SUMMARY_SECTIONS:
        terminalreporter.section(title)
        terminalreporter.write_line(text)
    if WATCH_FLAKES:
        terminalreporter.section("answers cargo lambda watch lost (retried once)")
        for line in WATCH_FLAKES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def client(function_url) -> openai.OpenAI:
    """The official SDK on OpenAI's path (`/v1`)."""
    return make_client(f"{function_url}/v1")


@pytest.fixture(scope="session")
def client_v3(function_url) -> openai.OpenAI:
    """The official SDK on OpenVINO Model Server's path (`/v3`)."""
    return make_client(f"{function_url}/v3")


@pytest.fixture()
def workdir():
    with tempfile.TemporaryDirectory(prefix="tts-sdk-") as d:
        yield Path(d)


# ---- decoding with ffmpeg/ffprobe -------------------------------------------------------------

def run(command: list[str], timeout: float = 60, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done.stdout


def probe(path: Path) -> dict:
    """ffprobe's view of a file: {'format': {...}, 'stream': {...}} (the first audio stream)."""
    out = json.loads(run(["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)]))
    streams = [s for s in out.get("streams", []) if s.get("codec_type") == "audio"]
    assert streams, f"ffprobe found no audio stream in {path}: {out}"
    return {"format": out["format"], "stream": streams[0]}


def decode(path: Path, raw_pcm_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decodes with ffmpeg to mono float samples at the stream's own rate; returns (samples, rate).

    `raw_pcm_rate` reads the file as headerless s16le mono at that rate (OpenAI's `pcm`).
    """
    if raw_pcm_rate is not None:
        rate = raw_pcm_rate
        source = ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", str(path)]
    else:
        rate = int(probe(path)["stream"]["sample_rate"])
        source = ["-i", str(path)]
    out = run(["ffmpeg", "-v", "error", "-nostdin", *source, "-f", "f32le", "-ac", "1", "-ar", str(rate), "-"])
    return np.frombuffer(out, dtype="<f4").astype(np.float64), rate


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def median_frequency(samples: np.ndarray, rate: int, n: int = 1024) -> float:
    """The frequency below which half the power of the average spectrum lies (DC and <60 Hz left out).

    A pitch-keeping time stretch leaves it where it was; playing the samples faster by
    resampling (no pitch correction) moves it with the speed (measured: 1.6x at speed 2 on the
    tiny model's output, whose power sits between 2 and 6 kHz).
    """
    assert len(samples) > n, f"too few samples ({len(samples)}) for a spectrum"
    window = np.hanning(n)
    frames = [
        (samples[i : i + n] - samples[i : i + n].mean()) * window
        for i in range(0, len(samples) - n, n // 4)
    ]
    power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    keep = freqs >= 60
    cumulative = np.cumsum(power[keep])
    return float(freqs[keep][np.searchsorted(cumulative, cumulative[-1] / 2)])
