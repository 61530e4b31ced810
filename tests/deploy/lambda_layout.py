"""The packaged function, run as Lambda runs it, on this machine.

`function/package.sh` writes `function.zip` (Lambda's /var/task) and `layer.zip` (/opt). This
module unpacks both into a fresh folder, then starts the packaged `bootstrap` the way Lambda's
provided.al2023 runtime does:

- in its own mount namespace (`unshare -m`, root), where the unpacked folders are mounted
  read-only at /var/task and /opt, /tmp is an empty tmpfs, and the repository (the build tree)
  is covered by an empty tmpfs: whatever the binary's fallbacks say, it cannot reach the tree;
- as an unprivileged user (uid 993, Lambda's sbx_user1051), with an empty environment
  (`env -i`) plus only the variables Lambda sets for a custom runtime
  (LD_LIBRARY_PATH, PATH, LAMBDA_TASK_ROOT, AWS_LAMBDA_*, ...) and the template's variables;
- against `cargo lambda watch --only-lambda-apis`, the Lambda runtime API emulator, which also
  serves the function URL path `/lambda-url/_/...`.

`mapped_files` reads /proc/<pid>/maps of the function and its eSpeak NG helper, so a test can
prove which files they really loaded. `python3 tests/deploy/lambda_layout.py cold-start` measures
process start -> first full response by phase (see `--help`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(os.environ.get("TTS_PACKAGE_DIR", REPO / "target/lambda-package"))

# What Lambda's provided.al2023 runtime sets (AWS docs, "Defined runtime environment variables").
LAMBDA_LD_LIBRARY_PATH = (
    "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
# The template's environment (template.yaml), for the defaults the function is deployed with.
TEMPLATE_ENV = {
    "TTS_CONFIG": "/var/task/tts.toml",
    "TTS_PRECISION": "f32",
    "TTS_CACHE_DIR": "/tmp/openvino-cache",
    "RUST_LOG": "info",
}
# The user and group Lambda runs a function as (sbx_user1051).
LAMBDA_UID, LAMBDA_GID = 993, 990
# glibc's own files: the only host libraries the function may load (Lambda's OS has them).
GLIBC = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unpack(package: Path, root: Path) -> Path:
    """Unzips function.zip into root/var/task and layer.zip into root/opt, keeping file modes."""
    for zip_name, dest in (("function.zip", "var/task"), ("layer.zip", "opt")):
        target = root / dest
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(package / zip_name) as z:
            for info in z.infolist():
                path = Path(z.extract(info, target))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    path.chmod(mode)
    return root


class Watch:
    """`cargo lambda watch --only-lambda-apis` on a free port: the runtime API and the URL path."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.log = log
        cargo_lambda = shutil.which("cargo-lambda") or str(REPO / ".venv-tools/bin/cargo-lambda")
        self.process = subprocess.Popen(
            [cargo_lambda, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.port)],
            cwd=REPO / "function",
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cargo lambda watch did not listen within 60 s")

    @property
    def runtime_api(self) -> str:
        return f"http://127.0.0.1:{self.port}/.rt"

    def stop(self) -> None:
        stop(self.process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, 15)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def lambda_env(runtime_api: str, memory_mb: int = 3538, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Lambda gives a provided.al2023 function, plus the template's variables."""
    env = {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/tts",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/02/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        "AWS_SESSION_TOKEN": "example",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LD_LIBRARY_PATH": LAMBDA_LD_LIBRARY_PATH,
        "PATH": LAMBDA_PATH,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": "bootstrap",
        **TEMPLATE_ENV,
    }
    env.update(extra or {})
    return env


def start_function(root: Path, env: dict[str, str], log: Path, tmp_dir: Path | None = None) -> subprocess.Popen:
    """Starts root's /var/task/bootstrap as Lambda would (see the module docstring). /tmp is an
    empty tmpfs, or `tmp_dir` (kept between starts: what a warm environment's /tmp holds)."""
    lines = ["set -e"]
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir.chmod(0o1777)
        lines.append(f"mount --bind {shell(tmp_dir)} /mnt")
    lines += [
        # The build tree first (it may lie under /tmp), then Lambda's own folders.
        f"mount -t tmpfs -o size=1m tmpfs {shell(REPO)}",
        f"mount --bind {shell(root / 'opt')} /opt",
        "mount -o remount,bind,ro /opt",
        "mount -t tmpfs -o size=1m tmpfs /var",
        "mkdir -p /var/task /var/runtime /var/lang/lib",
        f"mount --bind {shell(root / 'var/task')} /var/task",
        "mount -o remount,bind,ro /var/task",
        "mount --move /mnt /tmp" if tmp_dir is not None else "mount -t tmpfs -o size=1g tmpfs /tmp",
        "cd /var/task",
        # Lambda's unprivileged user (sbx_user1051), with Lambda's environment only.
        f"exec setpriv --reuid={LAMBDA_UID} --regid={LAMBDA_GID} --clear-groups env -i "
        + " ".join(shell(f"{k}={v}") for k, v in sorted(env.items()))
        + " /var/task/bootstrap",
    ]
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)],
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def shell(value) -> str:
    return "'" + str(value).replace("'", "'\\''") + "'"


def request(port: int, method: str, path: str, body: dict | None = None, timeout: float = 120.0):
    """One request through watch's function URL path; returns (status, headers, body, first_byte_s, total_s)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    started = time.monotonic()
    conn.request(method, f"/lambda-url/_{path}", body=data, headers={"Content-Type": "application/json"} if data else {})
    response = conn.getresponse()
    chunks, first = [], None
    while True:
        chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        if not chunk:
            break
        if first is None:
            first = time.monotonic() - started
        chunks.append(chunk)
    total = time.monotonic() - started
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, b"".join(chunks), first, total


def process_tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*"):
            try:
                pids += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        i += 1
    return pids


def mapped_files(pid: int) -> dict[int, set[str]]:
    """Files mapped into the function and its child processes (the eSpeak NG helper)."""
    maps = {}
    for p in process_tree(pid):
        files = set()
        try:
            for line in Path(f"/proc/{p}/maps").read_text().splitlines():
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    files.add(parts[5].removesuffix(" (deleted)"))
        except OSError:
            continue
        maps[p] = files
    return maps


def foreign_files(maps: dict[int, set[str]]) -> list[str]:
    """Mapped files that are neither the package's, /tmp's (the compiled-model cache), glibc's
    (libraries, locale data), nor kernel-provided."""
    bad = []
    for files in maps.values():
        for f in files:
            if f.startswith(("/var/task/", "/opt/", "/tmp/", "/dev/", "/memfd:", "/SYSV")):
                continue
            # glibc's own libraries and its locale data (eSpeak NG sets a UTF-8 locale).
            if Path(f).name in GLIBC or f.startswith("/usr/lib/locale/") or "/gconv/" in f:
                continue
            bad.append(f)
    return sorted(set(bad))


def wait_ready(port: int, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> float:
    """Waits for GET /health to answer 200 through the URL path; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the packaged bootstrap exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            status, _, _, _, _ = request(port, "GET", "/health", timeout=timeout)
            if status == 200:
                return time.monotonic() - started
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError(f"the packaged bootstrap did not answer /health within {timeout} s: {log.read_text()[-3000:]}")


def init_line(log: Path) -> dict:
    """The function's `pipeline ready` log record (JSON under Lambda)."""
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("fields", {}).get("message") == "pipeline ready":
            return record["fields"]
    return {}


def cold_start(args) -> None:
    """Process start -> first full response, by phase, N starts per variant (package x mode),
    medians. Variants alternate start by start (paired), so machine noise spreads over all."""
    modes = [m for m in args.modes.split(",") if m]
    packages = [Path(p) for p in (args.package or [PACKAGE])]
    with tempfile.TemporaryDirectory(prefix="tts-cold-") as tmp:
        tmp = Path(tmp)
        watch = Watch(tmp / "watch.log")
        try:
            variants = []
            for n, package in enumerate(packages):
                root = unpack(package, tmp / f"root{n}")
                cache = tmp / f"cache{n}"
                if {"tmp-cache", "shipped-cache"} & set(modes):
                    # One start fills a /tmp cache; its blobs also become the package's shipped
                    # cache (what `function/package.sh --ship-cache` puts in /opt/openvino-cache).
                    process = start_function(root, lambda_env(watch.runtime_api), tmp / "prime.log", cache)
                    try:
                        wait_ready(watch.port, process, tmp / "prime.log")
                    finally:
                        stop(process)
                    seed = root / "opt/openvino-cache"
                    shutil.copytree(cache / "openvino-cache", seed, dirs_exist_ok=True)
                    for blob in seed.iterdir():  # OpenVINO writes 0440; package.sh makes them 0644
                        blob.chmod(0o644)
                label = package.name if len(packages) > 1 else ""
                variants += [(f"{label}:{m}" if label else m, m, root, cache) for m in modes]
            runs = {v[0]: [] for v in variants}
            for i in range(args.runs + 1):
                for name, mode, root, cache in variants:
                    runs_of = runs[name]
                    measured = measure_start(watch, root, cache, mode, args, tmp / f"fn-{i}.log")
                    if i == 0:
                        continue  # a first round warms the page cache
                    runs_of.append(measured)
                    print(f"{name:>24} run {i}: first full response {measured['first_full_response_ms']:6.0f} ms "
                          f"(runtime {measured['runtime_ms']:.0f}, models {measured['models_ms']:.0f}, "
                          f"request {measured['processing_ms']:.0f})", flush=True)
        finally:
            watch.stop()
    results = {}
    for name, rs in runs.items():
        results[name] = {k: round(statistics.median(r[k] for r in rs), 1) for k in rs[0]}
        results[name]["runs"] = len(rs)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    report = {"cpu": cpu, "cores": os.cpu_count(), "input": args.input, "invoke_mode": args.invoke_mode,
              "packages": [str(p) for p in packages], "medians": results}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


def measure_start(watch: Watch, root: Path, cache: Path, mode: str, args, log: Path) -> dict:
    """One cold start: spawn, the first request (sent at once: watch queues it until the function
    asks for work, as Lambda does), its whole answer.

    no-cache: no TTS_CACHE_DIR. tmp-cache: the template's /tmp/openvino-cache kept from start to
    start (a /tmp that outlived the process: on Lambda a new environment's /tmp starts empty).
    shipped-cache: an empty /tmp, the blobs in /opt/openvino-cache (TTS_CACHE_SEED's default)."""
    env = lambda_env(watch.runtime_api, extra={"TTS_INVOKE_MODE": args.invoke_mode})
    if mode == "no-cache":
        del env["TTS_CACHE_DIR"]
    t0 = time.monotonic()
    process = start_function(root, env, log, cache if mode == "tmp-cache" else None)
    try:
        status, headers, body, _first, _total = request(
            watch.port, "POST", "/v1/audio/speech",
            {"model": "tts-1", "input": args.input, "voice": "alloy", "response_format": "wav"},
        )
        full = time.monotonic() - t0
        if status != 200:
            raise RuntimeError(f"{mode}: status {status}: {body[:300]!r}")
        fields = init_line(log)
    finally:
        stop(process)
    return {
        "first_full_response_ms": full * 1e3,
        "runtime_ms": float(fields.get("runtime_ms", "nan")),
        "models_ms": float(fields.get("models_ms", "nan")),
        "init_ms": float(fields.get("load_ms", "nan")),
        "processing_ms": float(headers.get("x-processing-seconds", "nan")) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    cs = sub.add_parser("cold-start", help="process start -> first full response of the packaged function, by phase")
    cs.add_argument("--runs", type=int, default=5, help="measured starts per mode (after one warm-up round)")
    cs.add_argument("--modes", default="no-cache,tmp-cache,shipped-cache", help="comma-separated: no-cache, tmp-cache, shipped-cache")
    cs.add_argument("--invoke-mode", default="RESPONSE_STREAM", choices=["RESPONSE_STREAM", "BUFFERED"])
    cs.add_argument("--input", default="Hello from Lambda.")
    cs.add_argument("--package", action="append", help="package folder (repeatable: compared start by start); "
                    "default $TTS_PACKAGE_DIR or target/lambda-package")
    cs.add_argument("--out", help="write the JSON report here")
    args = parser.parse_args()
    if args.command == "cold-start":
        cold_start(args)


if __name__ == "__main__":
    main()
