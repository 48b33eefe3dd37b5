#!/usr/bin/env bash
# Prepares the GPU check (`scripts/gpu_check.sh`) on this machine, for the lent GPU
# machine that has no network and takes at most 64 MiB of files:
#   .gpu/gpu_check.xz  the release `gpu_check` example with `--features wgpu`, stripped
#                    and compressed (50 MB -> 8 MB)
#   .gpu/model/      all-MiniLM-L6-v2 from the HF cache with its weights stored as F16
#                    (45 MB instead of 90 MB; both sides upcast them to fp32, so the
#                    comparison is on identical weights)
#   .gl/*.deb        the Vulkan loader and GL dispatch libraries the machine lacks
# `.gpu/` and `.gl/` are ignored through .git/info/exclude.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$HOME/.cache/m2v/pyenv/bin/python}
for d in /.gpu/ /.gl/; do grep -qxF "$d" .git/info/exclude || echo "$d" >> .git/info/exclude; done
rm -rf .gpu && mkdir -p .gpu/model
snap=$(ls -d "$HOME"/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/*/ | head -1)
(cd "$snap" && for f in config.json modules.json sentence_bert_config.json tokenizer.json \
    tokenizer_config.json special_tokens_map.json vocab.txt 1_Pooling/config.json 2_Normalize; do
  if [ -e "$f" ]; then mkdir -p "$OLDPWD/.gpu/model/$(dirname "$f")"; cp -rL "$f" "$OLDPWD/.gpu/model/$f"; fi
done)
"$PY" - "$snap/model.safetensors" .gpu/model/model.safetensors <<'PYEOF'
import sys
from safetensors.numpy import load_file, save_file
t = load_file(sys.argv[1])
save_file({k: (v.astype("float16") if v.dtype.kind == "f" else v) for k, v in t.items()}, sys.argv[2])
PYEOF
cargo build --release -p m2v-teacher --features wgpu --example gpu_check
target=${CARGO_TARGET_DIR:-target}
cp "$target/release/examples/gpu_check" .gpu/gpu_check
strip .gpu/gpu_check
xz -T2 -9 -f .gpu/gpu_check
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
ls .gl/libvulkan1_*.deb >/dev/null 2>&1 || {
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
}
du -sh .gpu .gl
