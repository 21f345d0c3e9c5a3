#!/bin/sh
# experiments/latents_python.sh: `nvp encode`'s latents file read by Python's `safetensors` (PyPI), and a
# file written by Python decoded by `nvp decode`: the format works both ways.
#
#   sh experiments/latents_python.sh [CKPT] [VENV]     (defaults: runs/fm_ood/best.safetensors, /tmp/nvp_st_venv)
#
# Makes a venv under /tmp with safetensors and numpy (PyPI), encodes 16 Fashion-MNIST test images,
# then in Python: lists every tensor with its dtype and shape, reads the metadata (format, image names),
# checks each scale's sum of squares against nvp's, and writes the same latents back with
# safetensors.numpy.save_file (keys and metadata as nvp writes them); nvp decodes that file and the
# PNGs are compared with the PNGs decoded from nvp's own file. Results: experiments/results/ood.md
# ("Latents from Python").
set -eu
CKPT=${1:-runs/fm_ood/best.safetensors}
VENV=${2:-/tmp/nvp_st_venv}
NVP=${NVP:-build/nvp}
WORK=$(mktemp -d /tmp/nvp_latents.XXXXXX)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import safetensors, numpy" 2>/dev/null || "$VENV/bin/pip" install -q safetensors numpy
"$VENV/bin/python" -c "import safetensors, numpy; print('safetensors', safetensors.__version__, 'numpy', numpy.__version__)"

$NVP encode "$CKPT" split=test images=16 out="$WORK/z.safetensors"
# nvp's own sums of squares per scale, to compare with numpy's
$NVP -e 'local o = ...; local t = assert(require("nvp.checkpoint").load(o.f))
         for _, k in ipairs{"scale1", "scale2", "scale3"} do if t[k] then print(k, ("%.6f"):format(t[k]:sumsq())) end end' \
     f="$WORK/z.safetensors" > "$WORK/nvp_sumsq.txt"
cat "$WORK/nvp_sumsq.txt"

"$VENV/bin/python" - "$WORK" <<'PY'
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
work = sys.argv[1]
path = work + "/z.safetensors"
nvp = dict(line.split() for line in open(work + "/nvp_sumsq.txt"))
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
    print("metadata:", {k: (v if len(v) < 60 else v[:57] + "...") for k, v in meta.items()})
    names = json.loads(meta["nvp.names"])
    tensors = {}
    for key in f.keys():
        t = f.get_tensor(key)
        tensors[key] = t
        ss = float(np.sum(t.astype(np.float64) ** 2))
        ok = abs(ss - float(nvp[key])) <= 1e-4 * max(1.0, ss)
        print(f"{key}: dtype {t.dtype}, shape {t.shape}, sum of squares {ss:.6f} (nvp {nvp[key]}) {'OK' if ok else 'MISMATCH'}")
        assert ok
    assert len(names) == next(iter(tensors.values())).shape[0], "one name per image"
    print(f"{len(names)} images, first {names[0]!r}, last {names[-1]!r}")
# written back by Python, with the keys and metadata nvp writes
save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, work + "/from_python.safetensors",
          metadata={"nvp.format": "nvp-latents-1", "nvp.dims": meta["nvp.dims"], "nvp.parts": meta["nvp.parts"],
                    "nvp.names": meta["nvp.names"]})
print("wrote", work + "/from_python.safetensors")
PY

$NVP decode "$CKPT" "$WORK/z.safetensors" out="$WORK/from_nvp"
$NVP decode "$CKPT" "$WORK/from_python.safetensors" out="$WORK/from_python"
# the decoded pixels, not the PNG bytes, are compared (same writer, so the bytes agree too)
if cmp -s "$WORK/from_nvp/000016.png" "$WORK/from_python/000016.png" && \
   [ "$(cd "$WORK/from_nvp" && cat *.png | sha256sum)" = "$(cd "$WORK/from_python" && cat *.png | sha256sum)" ]; then
    echo "decoded from Python's file: the same 16 PNGs as from nvp's"
else
    echo "decoded from Python's file: DIFFERENT PNGs"; exit 1
fi
rm -rf "$WORK"
