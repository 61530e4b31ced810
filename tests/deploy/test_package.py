"""The Lambda package (`function/package.sh`) runs on Lambda's OS unchanged.

- Every ELF file in it needs at most GLIBC_2.34 / GLIBCXX_3.4.29 (provided.al2023's glibc and
  gcc 11's libstdc++), read with binutils' `readelf` (its version-needs table), and every
  DT_NEEDED library is in the package or is glibc's.
- The packaged bootstrap, unpacked into /var/task and /opt and started with Lambda's environment
  only (tests/deploy/lambda_layout.py: mount namespace, `env -i`, `cargo lambda watch
  --only-lambda-apis`), answers the function URL path with speech in all six formats, buffered
  (BUFFERED invoke mode) and streamed (RESPONSE_STREAM), decoded back by ffmpeg; AAC included.
- With AWS_LAMBDA_MAX_CONCURRENCY=4 (Lambda Managed Instances) one process serves four
  requests at once (their in-function processing times add up to more than the wall time of
  the batch; with the variable unset they do not), and the 429 limit still holds there.
- Every speech request writes one CloudWatch Embedded Metric Format record on stdout whose
  figures agree with the response (model, format, status, audio seconds, first byte <= latency).
- It loaded nothing from the build tree or the host beyond glibc: its and its eSpeak NG helper's
  mapped files are the package's, /tmp's or glibc's, the C++ runtime is the package's own, and the
  repository is an empty folder from where the function stands.

Run by tests/run.sh after function/package.sh; needs root (mount namespaces), ffmpeg, cargo-lambda.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambda_layout as layout  # noqa: E402

FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
TEXT = "The package runs as Lambda runs it. Every format decodes, streamed or whole."


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def elf_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    files.append(path)
    return files


def readelf(*args) -> str:
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def needed_versions(path: Path) -> dict[str, set[str]]:
    """The version-needs table (.gnu.version_r): library -> versions required from it."""
    needs: dict[str, set[str]] = {}
    current = None
    for line in readelf("-V", str(path)).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
            needs.setdefault(current, set())
            continue
        m = re.search(r"Name: (\S+)", line)
        if m and current and "Version needs section" not in line:
            needs[current].add(m.group(1))
    return needs


def dt_needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", str(path)))


def soname(path: Path) -> str | None:
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", readelf("-d", str(path)))
    return m.group(1) if m else None


@pytest.fixture(scope="session")
def package() -> Path:
    if not (layout.PACKAGE / "function.zip").is_file():
        pytest.fail(f"no package in {layout.PACKAGE}: run function/package.sh first")
    return layout.PACKAGE


def test_every_elf_file_needs_at_most_glibc_2_34_and_finds_its_libraries(package):
    files = elf_files(package / "task") + elf_files(package / "opt")
    names = {p.name for p in files} | {s for p in files if (s := soname(p))}
    assert any(p.name == "bootstrap" for p in files) and len(files) >= 12, files
    problems = []
    for path in files:
        rel = path.relative_to(package)
        for lib, versions in needed_versions(path).items():
            for v in versions:
                family, _, number = v.partition("_")
                limit = {"GLIBC": "2.34", "GLIBCXX": "3.4.29", "CXXABI": "1.3.13"}.get(family)
                if limit and re.fullmatch(r"[\d.]+", number) and version_key(number) > version_key(limit):
                    problems.append(f"{rel}: needs {v} from {lib} (Lambda's provided.al2023 has {family}_{limit})")
        for lib in dt_needed(path):
            if lib not in layout.GLIBC and lib not in names:
                problems.append(f"{rel}: needs {lib}, which is neither in the package nor glibc's")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def lambda_root(package):
    with tempfile.TemporaryDirectory(prefix="tts-lambda-") as tmp:
        tmp = Path(tmp)
        root = layout.unpack(package, tmp / "root")
        watch = layout.Watch(tmp / "watch.log")
        try:
            yield root, watch, tmp
        finally:
            watch.stop()


def start(lambda_root, invoke_mode: str, **extra):
    root, watch, tmp = lambda_root
    log = tmp / f"function-{invoke_mode}-{len(list(tmp.glob('function-*')))}.log"
    env = layout.lambda_env(watch.runtime_api, extra={"TTS_INVOKE_MODE": invoke_mode, **extra})
    process = layout.start_function(root, env, log)
    layout.wait_ready(watch.port, process, log)
    return process, watch, log


def speak(port: int, log: Path, body: dict, lost: list[str]):
    """One speech request through watch; retried once only when watch lost an answer the function
    gave: cargo-lambda 1.9.2 sometimes never delivers an answer (tests/sdk/conftest.py measured
    about 1 in 50-100 with 20-50 kB bodies; CI met it here too), or answers its own 500 (an RFC 7807
    problem, `{"type":"https://httpstatuses.com/500",...}`, never the function's OpenAI-shaped
    error). For a timeout the function's own metrics record, written when it answered, is the
    evidence; without a new one the timeout stands. Watch's 500 is its own evidence; `lost` lists
    the formats whose answer the function gave and watch lost (each has a record of its own)."""
    before = len(emf_records(log))
    what = body.get("response_format")
    try:
        reply = layout.request(port, "POST", "/v1/audio/speech", body, timeout=45)
    except TimeoutError:
        if len(emf_records(log)) <= before:
            raise
        lost.append(what)
        print(f"watch lost an answer the function gave ({what}); asking once more")
        return layout.request(port, "POST", "/v1/audio/speech", body)
    status, _, payload = reply[:3]
    if status == 500 and payload.lstrip().startswith(b'{"type":"https://httpstatuses.com/'):
        time.sleep(0.2)  # the function writes its record as it answers; let the line land
        if len(emf_records(log)) > before:  # the function answered: its record counts once more
            lost.append(what)
        print(f"watch answered its own 500 ({what}: {payload[:200]!r}); asking once more")
        return layout.request(port, "POST", "/v1/audio/speech", body)
    return reply


def decoded_seconds(path: Path, fmt: str, rate: int) -> tuple[str, float]:
    """(codec, seconds) as ffprobe names the codec and ffmpeg decodes the samples."""
    if fmt == "pcm":
        return "pcm_s16le", path.stat().st_size / 2 / rate
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )
    codec = json.loads(probe.stdout)["streams"][0]["codec_name"]
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        check=True, capture_output=True,
    ).stdout
    return codec, len(pcm) / 2 / rate


CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le", "pcm": "pcm_s16le"}


@pytest.mark.parametrize("invoke_mode", ["BUFFERED", "RESPONSE_STREAM"])
def test_the_packaged_function_speaks_every_format_through_the_url_path(lambda_root, invoke_mode, tmp_path):
    process, watch, log = start(lambda_root, invoke_mode)
    try:
        streamed = invoke_mode == "RESPONSE_STREAM"
        durations = {}
        lost: list[str] = []
        for fmt in FORMATS:
            body = {"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": fmt}
            if streamed:
                body["stream_format"] = "audio"
            status, headers, audio, first, total = speak(watch.port, log, body, lost)
            assert status == 200, (fmt, status, audio[:300])
            path = tmp_path / f"speech.{fmt}"
            path.write_bytes(audio)
            rate = int(headers.get("x-audio-sample-rate", "24000"))
            codec, seconds = decoded_seconds(path, fmt, rate)
            assert codec == CODECS[fmt], (fmt, codec)
            durations[fmt] = seconds
            if not streamed:
                # The whole answer says how long it is: the decoded audio agrees (encoder
                # priming and padding at most ~0.15 s).
                said = float(headers["x-audio-duration-seconds"])
                assert abs(seconds - said) < 0.15, (fmt, seconds, said)
            else:
                assert "x-audio-duration-seconds" not in headers, headers
                assert first is not None and first < total, (fmt, first, total)
        # The noise of the voice changes durations a little from request to request.
        assert all(2.0 < s < 9.0 for s in durations.values()), durations
        assert max(durations.values()) < 1.3 * min(durations.values()), durations

        # What the function and its eSpeak NG helper really loaded.
        maps = layout.mapped_files(process.pid)
        assert len(maps) >= 2, f"expected bootstrap and its eSpeak NG helper, got {maps.keys()}"
        everything = set().union(*maps.values())
        assert not layout.foreign_files(maps), layout.foreign_files(maps)
        assert "/opt/lib/libstdc++.so.6" in everything, sorted(everything)
        assert "/opt/openvino/lib/libopenvino_intel_cpu_plugin.so" in everything
        assert "/opt/espeak/lib/libespeak-ng.so.1" in everything
        # Lambda's unprivileged user, as on Lambda (nothing it needs may be root-only).
        uid = Path(f"/proc/{process.pid}/status").read_text().split("Uid:")[1].split()[0]
        assert int(uid) == layout.LAMBDA_UID, uid
        # The build tree, from where the function stands: an empty folder.
        assert os.listdir(f"/proc/{process.pid}/root{layout.REPO}") == []
        assert sorted(os.listdir(f"/proc/{process.pid}/root/var/task")) == ["bootstrap", "tts.toml"]
    finally:
        layout.stop(process)
    text = log.read_text(errors="replace")
    assert "pipeline ready" in text, text[-2000:]
    assert "panicked" not in text, text[-3000:]
    # The package ships the voice's two stages, and the function runs them.
    assert "runs whole" not in text, [line for line in text.splitlines() if "runs whole" in line]
    # One metrics record per request, in the function's own words, agreeing with the answers.
    records = emf_records(log)
    sent = [f for fmt in FORMATS for f in [fmt] * (1 + lost.count(fmt))]
    assert [r["Format"] for r in records] == sent, (records, lost)
    for r in records:
        assert r["Model"] == "piper-joe" and r["Status"] == 200 and r["Streamed"] is streamed, r
        assert 0 < r["TimeToFirstAudioByte"] <= r["Latency"] and r["RealTimeFactor"] > 0, r
        last = [x for x in records if x["Format"] == r["Format"]][-1]
        if r is last:  # an answer watch lost was a synthesis of its own
            assert abs(r["AudioSeconds"] - durations[r["Format"]]) < 0.2, (r, durations)
        assert r["InputCharacters"] == len(TEXT), r
    init = [r for r in emf_lines(log) if "InitTotalMs" in r]
    assert len(init) == 1 and init[0]["ModelLoadMs"]["piper-joe"] > 0, init


def emf_lines(log: Path) -> list[dict]:
    """The function's CloudWatch Embedded Metric Format records (JSON lines with `_aws`)."""
    records = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def emf_records(log: Path) -> list[dict]:
    """The per-request records."""
    return [r for r in emf_lines(log) if "Requests" in r]


def overlapping_batch(port: int, n: int, body: dict, log: Path, lost: list[str]) -> tuple[list, float]:
    """n requests sent at once (through `speak`); returns their (status, headers, body) and the
    batch's wall time."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        replies = list(pool.map(lambda _: speak(port, log, body, lost)[:3], range(n)))
    return replies, time.monotonic() - started


LONG = "Four requests arrive together, and one execution environment answers all of them at once, as Lambda Managed Instances allow."


@pytest.mark.parametrize("invoke_mode", ["BUFFERED", "RESPONSE_STREAM"])
def test_with_max_concurrency_4_one_process_serves_four_requests_at_once(lambda_root, invoke_mode):
    process, watch, log = start(lambda_root, invoke_mode, AWS_LAMBDA_MAX_CONCURRENCY="4")
    try:
        body = {"model": "tts-1", "input": LONG, "voice": "alloy", "response_format": "wav"}
        if invoke_mode == "RESPONSE_STREAM":
            body["stream_format"] = "audio"
        lost: list[str] = []
        speak(watch.port, log, body, lost)  # first-inference set-up
        replies, wall = overlapping_batch(watch.port, 4, body, log, lost)
        assert [r[0] for r in replies] == [200] * 4, [(r[0], r[2][:200]) for r in replies]
        assert all(len(r[2]) > 100_000 for r in replies)
    finally:
        layout.stop(process)
    # Each record's latency is measured inside the function: four of them adding up to more than
    # the batch's wall time means they ran at the same time, in this one process.
    latencies = [r["Latency"] / 1e3 for r in emf_records(log)[1:]]
    assert len(latencies) == 4 + len(lost), (emf_records(log), lost)
    if not lost:  # a lost answer's wait (the timeout) is in the wall time
        assert sum(latencies) > 1.5 * wall, (latencies, wall)
    assert "running sequentially" not in log.read_text(errors="replace")


def test_without_max_concurrency_requests_run_one_at_a_time(lambda_root):
    process, watch, log = start(lambda_root, "BUFFERED")
    try:
        body = {"model": "tts-1", "input": LONG, "voice": "alloy", "response_format": "wav"}
        lost: list[str] = []
        speak(watch.port, log, body, lost)
        replies, wall = overlapping_batch(watch.port, 3, body, log, lost)
        assert [r[0] for r in replies] == [200] * 3
        processing = [float(r[1]["x-processing-seconds"]) for r in replies]
    finally:
        layout.stop(process)
    assert sum(processing) <= 1.05 * wall, (processing, wall)


def test_the_429_limit_holds_under_the_concurrent_runner(lambda_root):
    process, watch, log = start(
        lambda_root, "BUFFERED", AWS_LAMBDA_MAX_CONCURRENCY="4", TTS_SLOTS="1", TTS_MAX_QUEUE="0"
    )
    try:
        body = {"model": "tts-1", "input": LONG, "voice": "alloy", "response_format": "wav"}
        lost: list[str] = []
        replies, _ = overlapping_batch(watch.port, 4, body, log, lost)
    finally:
        layout.stop(process)
    statuses = sorted(r[0] for r in replies)
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1, statuses
    for status, headers, content in replies:
        if status == 429:
            assert headers.get("retry-after") == "1", headers
            error = json.loads(content)["error"]
            assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    records = emf_records(log)
    if not lost:
        assert sorted(r["Status"] for r in records) == statuses, records
    else:  # the answers watch lost have records of their own
        assert len(records) == len(statuses) + len(lost), (records, lost)
