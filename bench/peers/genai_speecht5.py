#!/usr/bin/env python3
"""Peer benchmark: OpenVINO GenAI Text2SpeechPipeline (and transformers PyTorch) on a SpeechT5 export.

Python deps: the same pinned set as tests/fixtures/speecht5/requirements.txt
(run with /work/main/.venv-fixtures/bin/python after tests/fixtures/speecht5/make.sh).

The step count is forced through maxlenratio (the --full exports never stop by threshold):
maxlen = int(token_count * maxlenratio / 2), so maxlenratio = (2*steps + 0.5) / token_count
gives exactly `steps` decoder steps (minlenratio stays 0 < maxlenratio, as GenAI requires).
Each engine synthesizes the text with n and 2n steps, R times each after a warm-up;
per-step latency = (median t(2n) - median t(n)) / n. Prints one JSON object to stdout; with
--out FILE also writes the report contract's `peers.json` (bench/run.sh passes the same text, n,
threads and precision as to the engine bench).

Example:
  .venv-fixtures/bin/python bench/peers/genai_speecht5.py --model .models/speecht5-full-random \
      --n 32 --threads 2 --repeats 5
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HOP = 256
REDUCTION = 2


def ratio_for(steps: int, tokens: int) -> float:
    r = (2 * steps + 0.5) / tokens
    assert int(tokens * r / REDUCTION) == steps
    return r


def summarize(times, samples):
    return {"total_s": times, "median_s": statistics.median(times), "samples": samples,
            "steps_from_samples": samples // (HOP * REDUCTION)}


def bench_genai(args, speaker, text):
    import openvino as ov
    import openvino_genai as ov_genai

    t0 = time.perf_counter()
    tok = ov_genai.Tokenizer(str(args.model))
    ids = [int(x) for x in tok.encode(text).input_ids.data[0]]
    pipe = ov_genai.Text2SpeechPipeline(
        str(args.model), "CPU",
        INFERENCE_PRECISION_HINT=args.precision,
        INFERENCE_NUM_THREADS=args.threads,
    )
    load_s = time.perf_counter() - t0
    spk = ov.Tensor(speaker[None].copy())
    out = {"load_s": load_s, "token_ids": ids, "token_count": len(ids), "runs": {}}

    for label, steps in (("n", args.n), ("2n", 2 * args.n)):
        cfg = pipe.get_generation_config()
        cfg.minlenratio = 0.0
        cfg.maxlenratio = ratio_for(steps, len(ids))
        cfg.threshold = 0.5
        pipe.set_generation_config(cfg)
        for _ in range(args.warmup):
            pipe.generate(text, spk)
        times, samples = [], None
        for _ in range(args.repeats):
            t = time.perf_counter()
            res = pipe.generate(text, spk)
            times.append(time.perf_counter() - t)
            samples = int(res.speeches[0].get_size())
        out["runs"][label] = dict(steps=steps, maxlenratio=cfg.maxlenratio, **summarize(times, samples))
    out["per_step_s"] = (out["runs"]["2n"]["median_s"] - out["runs"]["n"]["median_s"]) / args.n
    return out


def bench_torch(args, speaker, text, torch_dir: Path, voc_dir: Path):
    import torch
    from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Tokenizer

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    tok = SpeechT5Tokenizer.from_pretrained(torch_dir)
    model = SpeechT5ForTextToSpeech.from_pretrained(torch_dir).eval()
    vocoder = SpeechT5HifiGan.from_pretrained(voc_dir).eval()
    load_s = time.perf_counter() - t0
    ids = tok(text)["input_ids"]
    input_ids = torch.tensor([ids], dtype=torch.long)
    spk = torch.from_numpy(speaker)[None]
    out = {"load_s": load_s, "token_count": len(ids), "torch_threads": torch.get_num_threads(),
           "torch_version": torch.__version__, "runs": {}}
    for label, steps in (("n", args.n), ("2n", 2 * args.n)):
        r = ratio_for(steps, len(ids))
        times, samples = [], None
        with torch.inference_mode():
            for i in range(args.warmup + args.repeats):
                t = time.perf_counter()
                wav = model.generate_speech(input_ids, spk, threshold=0.5, minlenratio=0.0, maxlenratio=r,
                                            vocoder=vocoder)
                dt = time.perf_counter() - t
                if i >= args.warmup:
                    times.append(dt)
                    samples = int(wav.numel())
        out["runs"][label] = dict(steps=steps, maxlenratio=r, **summarize(times, samples))
    out["per_step_s"] = (out["runs"]["2n"]["median_s"] - out["runs"]["n"]["median_s"]) / args.n
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="optimum-intel SpeechT5 export folder")
    ap.add_argument("--text", default="The quick brown fox jumps over the lazy dog.")
    ap.add_argument("--speaker", type=Path, help="raw 512 x f32 LE voice file (default MODEL/voices/speaker_a.bin)")
    ap.add_argument("--n", type=int, default=32, help="decoder steps of the short run (the long run uses 2n)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--precision", choices=["f32", "bf16", "f16"], default="f32")
    ap.add_argument("--torch-dir", type=Path, help="save_pretrained model (default MODEL/torch if present)")
    ap.add_argument("--torch-vocoder", type=Path, help="save_pretrained vocoder (default MODEL/torch-vocoder)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", type=Path, help="also write peers.json (the benchmark report contract) here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    spk_path = args.speaker or args.model / "voices" / "speaker_a.bin"
    speaker = np.fromfile(spk_path, dtype="<f4")
    assert speaker.shape == (512,), speaker.shape

    import openvino as ov
    import openvino_genai as ov_genai

    result = {
        "model": str(args.model), "text": args.text, "speaker": str(spk_path), "n": args.n,
        "threads": args.threads, "repeats": args.repeats, "warmup": args.warmup, "precision": args.precision,
        "versions": {"openvino": ov.__version__, "openvino_genai": ov_genai.__version__},
    }
    result["loadavg_start"] = os.getloadavg()
    result["genai"] = bench_genai(args, speaker, args.text)
    result["token_count"] = result["genai"]["token_count"]

    torch_dir = args.torch_dir or args.model / "torch"
    voc_dir = args.torch_vocoder or args.model / "torch-vocoder"
    if not args.no_torch and torch_dir.exists() and voc_dir.exists():
        result["torch"] = bench_torch(args, speaker, args.text, torch_dir, voc_dir)
        if result["torch"]["token_count"] != result["token_count"]:
            print("warning: token counts differ between GenAI and transformers", file=sys.stderr)
    result["loadavg_end"] = os.getloadavg()
    json.dump(result, sys.stdout, indent=1)
    print()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(contract(result), indent=1) + "\n")
        print(f"peers: wrote {args.out}", file=sys.stderr)


def contract(result):
    """The report contract's peers.json: milliseconds, medians, derived per-step latency."""
    def engine(r):
        if r is None:
            return None
        return {"load_ms": r["load_s"] * 1e3,
                "utterance_ms": [r["runs"]["n"]["median_s"] * 1e3, r["runs"]["2n"]["median_s"] * 1e3],
                "per_step_derived_ms": r["per_step_s"] * 1e3,
                "token_count": r["token_count"],
                "steps_from_samples": [r["runs"]["n"]["steps_from_samples"], r["runs"]["2n"]["steps_from_samples"]]}
    return {"text": result["text"], "tokens": result["token_count"], "steps": [result["n"], 2 * result["n"]],
            "threads": result["threads"], "precision": result["precision"], "model": result["model"],
            "repeats": result["repeats"], "versions": result["versions"],
            "genai": engine(result["genai"]), "torch": engine(result.get("torch"))}


if __name__ == "__main__":
    main()
