"""Cuts a Piper (VITS) voice into the two stages the function runs: the front stage (text encoder,
stochastic duration predictor, frame counts, flow: phoneme ids -> latent z and frames per id) and
the decoder stage (the HiFi-GAN generator: z -> audio).

The cut is found from the graph's structure, not from one voice's tensor names: the decoder's
input is the one tensor that nodes of the `/dec/` scope read and that no `/dec/` node makes; the
frame counts are the output of the one top-level `Ceil` node (`/Ceil`, frames per phoneme id).
A voice without that structure is refused (exit status 3) with the reason on stderr, and the
function then runs it whole.

Checked before anything is written: with the noise scales at 0, the decoder run on the front
stage's z gives the whole model's output (onnxruntime, a few id sequences, max difference
<= 1e-4), and the frame counts sum to the output's frames (256 samples each).

Writes OUT/front.onnx, OUT/decoder.onnx and OUT/split.json (what was cut, from which file, by
which tools, and the voice's level: the peak of a noise-free reading of a fixed sentence). Run by function/scripts/setup-piper.sh with the pinned tools of
function/scripts/requirements-split.txt.

Usage: python split-piper.py VOICE.onnx OUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
import onnxruntime

HOP = 256
TOLERANCE = 1e-4
# The voice's level: the peak of its noise-free reading of this sentence (eSpeak NG's en-us IPA of
# "This is how I sound when I read an ordinary sentence, with a pause, and a question?"; other
# voices read the IPA symbols their map has). The function scales streamed sentences by the gain
# that brings it to its fixed peak (a stream cannot wait for a sentence's own peak).
LEVEL_PHONEMES = "ðɪs ɪz hˌaʊ aɪ sˈaʊnd wɛn aɪ ɹˈiːd ɐn ˈɔːɹdɪnˌɛɹi sˈɛntəns, wɪð ɐ pˈɔːz, ænd ɐ kwˈɛstʃən?"
# The head of the model file that split.json fingerprints (with its size): cheap to check at
# every start, and it holds the graph's first nodes and weights.
FINGERPRINT_BYTES = 4 << 20


class NoSplit(Exception):
    """The voice does not have the structure the two stages need."""


def fingerprint(path: Path) -> dict:
    with path.open("rb") as f:
        head = f.read(FINGERPRINT_BYTES)
    return {"bytes": path.stat().st_size, "head_sha256": hashlib.sha256(head).hexdigest(), "head_bytes": len(head)}


def find_cut(model: onnx.ModelProto) -> tuple[str, str]:
    graph = model.graph
    names = {i.name for i in graph.input}
    for needed in ("input", "input_lengths", "scales"):
        if needed not in names:
            raise NoSplit(f"no graph input {needed!r} (not a Piper voice export)")
    if [o.name for o in graph.output] != ["output"]:
        raise NoSplit(f"outputs are {[o.name for o in graph.output]}, not ['output']")
    constants = {i.name for i in graph.initializer}
    made_by = {}
    for node in graph.node:
        for out in node.output:
            made_by[out] = node
    dec_nodes = [n for n in graph.node if n.name.startswith("/dec/")]
    if not dec_nodes:
        raise NoSplit("no /dec/ scope (the HiFi-GAN generator's node names are missing)")
    dec_made = {out for n in dec_nodes for out in n.output}
    crossing = set()
    for node in dec_nodes:
        for name in node.input:
            if not name or name in dec_made or name in constants:
                continue
            producer = made_by.get(name)
            if producer is not None and producer.op_type == "Constant":
                continue
            crossing.add(name)
    if len(crossing) != 1:
        raise NoSplit(f"the /dec/ scope reads {len(crossing)} tensors from outside it ({sorted(crossing)}), not one")
    z = crossing.pop()
    ceils = [n for n in graph.node if n.op_type == "Ceil" and n.name.count("/") == 1]
    if len(ceils) != 1:
        raise NoSplit(f"{len(ceils)} top-level Ceil nodes (frames per phoneme id), not one")
    return z, ceils[0].output[0]


def check(source: Path, front: Path, decoder: Path) -> dict:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    whole = onnxruntime.InferenceSession(str(source), options, providers=providers)
    first = onnxruntime.InferenceSession(str(front), options, providers=providers)
    second = onnxruntime.InferenceSession(str(decoder), options, providers=providers)
    z_name = second.get_inputs()[0].name
    rng = np.random.default_rng(7)
    worst = 0.0
    for n in (9, 41, 120):
        ids = np.concatenate([[1, 0], rng.integers(14, 120, n), [0, 2]]).astype(np.int64)[None, :]
        feed = {
            "input": ids,
            "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
            "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
        }
        expected = whole.run(["output"], feed)[0].reshape(-1)
        z, frames = first.run(None, feed)
        audio = second.run(["output"], {z_name: z})[0].reshape(-1)
        if audio.shape != expected.shape:
            raise NoSplit(f"the two stages made {audio.size} samples, the whole model {expected.size}")
        if int(frames.sum()) * HOP != expected.size:
            raise NoSplit(f"frame counts sum to {int(frames.sum())}, the output has {expected.size / HOP} frames")
        worst = max(worst, float(np.abs(audio - expected).max()))
    if worst > TOLERANCE:
        raise NoSplit(f"the two stages differ from the whole model by {worst:.2e} (> {TOLERANCE})")
    return {"max_abs_difference": worst, "checked_lengths": [9, 41, 120]}


def level(source: Path) -> dict:
    """The peak of the whole model's noise-free reading of LEVEL_PHONEMES (ids as Piper makes them:
    ^ _ then each phoneme's ids and _ , then $)."""
    config = json.loads(Path(f"{source}.json").read_text())
    table = config["phoneme_id_map"]
    ids = [*table["^"], *table["_"]]
    for phoneme in unicodedata.normalize("NFD", LEVEL_PHONEMES):
        if phoneme in table:
            ids += [*table[phoneme], *table["_"]]
    ids += table["$"]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    whole = onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    length = float(config.get("inference", {}).get("length_scale", 1.0))
    feed = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([0.0, length, 0.0], dtype=np.float32),
    }
    audio = whole.run(["output"], feed)[0]
    return {"peak": float(np.abs(audio).max()), "phonemes": LEVEL_PHONEMES, "ids": len(ids)}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    model = onnx.load(str(source), load_external_data=False)
    try:
        z, frames = find_cut(model)
    except NoSplit as why:
        print(f"split-piper: {source.name} does not split: {why}", file=sys.stderr)
        return 3
    del model
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp:
        tmp = Path(tmp)
        onnx.utils.extract_model(str(source), str(tmp / "front.onnx"), ["input", "input_lengths", "scales"], [z, frames])
        onnx.utils.extract_model(str(source), str(tmp / "decoder.onnx"), [z], ["output"])
        try:
            checked = check(source, tmp / "front.onnx", tmp / "decoder.onnx")
        except NoSplit as why:
            print(f"split-piper: {source.name} does not split: {why}", file=sys.stderr)
            return 3
        dims = onnx.load(str(tmp / "decoder.onnx"), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
        if len(dims) != 3 or not dims[1].dim_value:
            print(f"split-piper: {source.name} does not split: the latent is not [1, channels, frames]", file=sys.stderr)
            return 3
        meta = {
            "source": source.name,
            "source_fingerprint": fingerprint(source),
            "latent": z,
            "frames_per_id": frames,
            "hop": HOP,
            "channels": dims[1].dim_value,
            "front": "front.onnx",
            "decoder": "decoder.onnx",
            "check": checked,
            "level": level(source),
            "tools": {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
        }
        (tmp / "split.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            for f in out.iterdir():
                f.unlink()
            out.rmdir()
        os.replace(tmp, out)
        tmp.mkdir()  # TemporaryDirectory removes what it made
    print(f"split-piper: {source.name} -> {out}/front.onnx + decoder.onnx (z = {z}, frames = {frames}, max diff {checked['max_abs_difference']:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
