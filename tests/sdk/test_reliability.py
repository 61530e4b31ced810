"""Impatient clients under `cargo lambda watch`: the function must outlive every one of them.

Guards the sequence a new user met (issue 14): clients that give up while the function is still
starting (watch queues their requests and hands them over once it is up, when nobody waits for
the answers any more), clients that hang up during a synthesis and just after it, buffered and
streamed. Watch refuses the answers of those invocations; before the fix that error ended the
runtime loop, `bootstrap` exited and every later request hung. Now each such invocation fails
alone: the same function process (same pid) keeps serving, and a normal request gets its audio.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import FUNCTION_ENV, LOG_DIR, REPO, cargo_lambda, decode, free_port, progress, stop, tail
from conftest import http as http_request

MEDIUM = "The committee met on Tuesday to discuss the new budget, and it agreed to fund the library. " * 3
LONG = MEDIUM * 4


def function_pids(watch: int) -> list[int]:
    """The `bootstrap` processes among watch's descendants (it starts them through `cargo run`)."""
    pids, found, i = [watch], [], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*"):
            try:
                pids += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        i += 1
    for pid in pids[1:]:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "bootstrap":
                found.append(pid)
        except OSError:
            pass
    return sorted(set(found))


def impatient(port: int, method: str, path: str, body: dict | None, give_up_after: float, read_first: bool = False):
    """Sends one request and hangs up after `give_up_after` seconds (or after the first body bytes
    with `read_first`); returns what it saw, for the record."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=give_up_after)
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = conn.getresponse()
        if read_first:
            response.read1(1024) if hasattr(response, "read1") else response.read(1024)
            return f"{response.status}, hung up after the first bytes"
        response.read()
        return f"{response.status}, complete"
    except (TimeoutError, socket.timeout):
        return "gave up"
    except OSError as error:
        return f"transport error {error}"
    finally:
        conn.close()


def wait_for_port(port: int, process, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"watch exited with {process.returncode}; log:\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"watch did not listen on {port}; log:\n{tail(log)}")


def normal_request_speaks(port: int, workdir: Path, name: str, streamed: bool) -> None:
    """A normal request gets audio. Through conftest's `http`: watch's own 500 (an answer watch
    lost, see conftest) is retried once and listed at the end of the run; the function's errors
    are not."""
    body = {"model": "tts-1", "input": "Still here, and speaking.", "voice": "alloy", "response_format": "wav"}
    if streamed:
        body["stream_format"] = "audio"
    reply = http_request("POST", f"http://127.0.0.1:{port}/v1/audio/speech", body, timeout=120)
    status, audio = reply.status, reply.body
    assert status == 200, (name, status, audio[:300])
    path = workdir / f"{name}.wav"
    path.write_bytes(audio)
    samples, rate = decode(path)
    assert len(samples) / rate > 0.8, (name, len(samples) / rate)


@pytest.mark.parametrize("invoke_mode", ["BUFFERED", "RESPONSE_STREAM"])
def test_impatient_clients_do_not_end_the_function(function_url, invoke_mode, workdir):
    # function_url: the build is done, so this watch starts the function within seconds.
    streamed = invoke_mode == "RESPONSE_STREAM"
    name = f"watch-impatient-{invoke_mode.lower()}"

    # conftest's start_watch waits for /health; the first phase needs requests queued before the
    # function is up, so this starts watch by hand with the same command.
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    port = free_port()
    env = {**os.environ, **FUNCTION_ENV, "TTS_INVOKE_MODE": invoke_mode, "TTS_SLOTS": "1"}
    command = [cargo_lambda(), "lambda", "watch", "-A", "127.0.0.1", "-P", str(port), "--ignore-changes",
               "--package", "tts-function", "--bin", "bootstrap"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, process, log)
        seen = []
        # 1. Four clients that give up while the function starts (as in the issue: curl -m).
        for i in range(4):
            seen.append(("starting", impatient(port, "GET", "/health", None, 1.0)))
            seen.append(("starting", impatient(port, "POST", "/v1/audio/speech",
                                               {"model": "tts-1", "input": MEDIUM, "voice": "alloy"}, 0.5)))
        # The function comes up and gets the abandoned requests; then it must answer.
        deadline = time.monotonic() + 300
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no /health after the impatient start; log:\n{tail(log)}"
            time.sleep(1)
        pids = function_pids(process.pid)
        assert len(pids) == 1, pids
        normal_request_speaks(port, workdir, f"{name}-after-start", streamed)

        # 2. Hang-ups before, during and just after a synthesis: a ladder of client timeouts over
        # a medium input (about a second of synthesis), then the long one; streamed clients also
        # hang up after the first bytes.
        body = {"model": "tts-1", "input": MEDIUM, "voice": "alloy", "response_format": "mp3"}
        if streamed:
            body["stream_format"] = "audio"
        for give_up in (0.05, 0.3, 0.8, 1.5, 2.5, 4.0):
            seen.append((f"medium, {give_up} s", impatient(port, "POST", "/v1/audio/speech", body, give_up)))
        seen.append(("long, 2 s", impatient(port, "POST", "/v1/audio/speech", {**body, "input": LONG}, 2.0)))
        if streamed:
            for fmt in ("pcm", "opus", "mp3", "wav", "flac", "aac") * 2:
                seen.append((f"first bytes, {fmt}", impatient(
                    port, "POST", "/v1/audio/speech", {**body, "input": LONG, "response_format": fmt}, 60, read_first=True)))
            sse = {**body, "input": LONG, "stream_format": "sse"}
            seen.append(("first bytes, sse", impatient(port, "POST", "/v1/audio/speech", sse, 60, read_first=True)))
        progress(f"{name}: " + "; ".join(f"{what}: {result}" for what, result in seen))
        normal_request_speaks(port, workdir, f"{name}-after-hang-ups", streamed)
        # The same process served everything: it never exited.
        assert function_pids(process.pid) == pids, (pids, function_pids(process.pid), tail(log))
        assert process.poll() is None
    finally:
        stop(process)
    text = log.read_text(errors="replace")
    assert "panicked" not in text, tail(log, 80)
    # The abandoned invocations really happened and were survived, not avoided: clients gave up,
    # and watch refused the function's answers to some of them (a non-2xx to a whole answer, a
    # broken connection under a streamed one: the error that used to end the process).
    gave_up = sum(1 for _, result in seen if result == "gave up" or "hung up" in result)
    assert gave_up >= 6, seen
    refused = text.count("Lambda Runtime API returned non-200 response") + text.count(
        "could not be delivered to the Lambda runtime API"
    )
    progress(f"{name}: {gave_up} clients gave up; {refused} answers refused by watch, survived")
    assert refused >= 1, tail(log, 80)
