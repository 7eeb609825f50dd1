#!/usr/bin/env bash
# One short, prepared run on a GPU machine: the CUDA tests, then the GPU
# benchmark. From the repository root, in an environment with skuda installed
# (pip install -e ".[test]"). Writes its logs and CSV under $OUT (or ./gpu_out).
set -u
out="${OUT:-gpu_out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
python -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())" >> "$out/gpu.txt" 2>&1
# CUDA tests, then the CPU tests of the same paths (sources, precision, device)
python -m pytest -q -p no:cacheprovider -rs tests/test_gpu.py tests/test_device.py \
    tests/test_outofcore.py tests/test_streaming.py 2>&1 | tee "$out/tests.txt"
tests=${PIPESTATUS[0]}
# Data-parallel training on 2 GPUs (NCCL), when there are 2: the CPU test's
# worker under torchrun; each rank writes rank<N>.json (identical "digest",
# disjoint "rows", "accuracy"). ~1 minute.
if [ "$(python -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
    mkdir -p "$out/ddp"
    PYTHONPATH=. timeout 300 torchrun --standalone --nproc_per_node=2 \
        tests/distributed_worker.py "$out/ddp" cuda 2>&1 | tee "$out/ddp.txt"
fi
# ~2-4 minutes on one GPU: 4 epochs x 3 rounds x 2 contenders x 3 precisions
timeout 420 python -m benchmarks.bench_gpu --epochs 4 --rounds 3 \
    --out "$out/gpu.csv" 2>&1 | tee "$out/bench.txt"
# ~1 minute: every one-phase method's step against DANN's on the GPU
timeout 120 python -m benchmarks.run --suite methods --device cuda --epochs 3 \
    --rounds 2 --out "$out/methods_gpu.csv" 2>&1 | tee -a "$out/bench.txt"
exit "$tests"
