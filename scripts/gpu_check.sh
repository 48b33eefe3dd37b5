#!/usr/bin/env bash
# The GPU check, run on the lent GPU machine after `scripts/gpu_prepare.sh` here:
# wgpu parity with PyTorch on the same weights, and distillation-workload speed of
# m2v-teacher (wgpu and CPU) next to PyTorch (CUDA and CPU). Results go to $OUT.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
nvidia-smi -L; nproc
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/gpu_check.xz'), open('/tmp/gpu_check', 'wb'))"
chmod +x /tmp/gpu_check
fixtures=crates/m2v-teacher/tests/fixtures/all-MiniLM-L6-v2
timeout 200 python3 scripts/gpu_reference.py .gpu/model "$fixtures" "$OUT/ref" 2>&1 | grep -v Warning
timeout 300 /tmp/gpu_check .gpu/model "$fixtures" "$OUT/ref" "$OUT/report.json"
echo "gpu_check exit $?"
