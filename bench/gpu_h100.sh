#!/bin/bash
# gpu_h100.sh — the WebGPU benchmark run on a GPU machine (an NVIDIA H100 through the `run`
# device tool), in one go: unpack the carried libraries, adapter info, kernel conformance and a
# CPU-vs-GPU logits check on the real driver, the WGSL read roofline, `hearth synth` models, then
# hearth (WebGPU) and llama.cpp's Vulkan backend on the same files and card, and kernel-variant
# sweeps. Everything it needs was staged by bench/gpu_stage.sh into .device/ (binaries built on
# the x86-64 build machine, Dawn and llama.cpp-Vulkan libraries, a few test models) and .gl/
# (the Vulkan and GL loader debs). Output: $OUT/log; the summary is printed last.
#
#   run(command="bash bench/gpu_h100.sh [quick|full|prefill|sweep|all]", carry=[".gl", ".device"])
set -u
MODE=${1:-full}
RESULTS=${OUT:-/tmp/gpu-results}  # what comes back (at most 8 files)
OUT=/tmp/gpu-out                   # everything else
mkdir -p "$OUT" "$RESULTS"
exec > >(tee -a "$RESULTS/log") 2>&1
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

# Vulkan loader (the image may lack it), libraries
for f in .gl/*.deb; do dpkg -x "$f" / 2>/dev/null; done
ldconfig
DEV=/tmp/dev
B=$DEV/bin
mkdir -p $DEV
cp -r .device/bin $DEV/
python3 - <<'PY'
import lzma, tarfile, shutil
with lzma.open('.device/dawn.so.xz') as f, open('/tmp/dev/libwebgpu_wrapper.so', 'wb') as o:
    shutil.copyfileobj(f, o)
with tarfile.open('.device/llv.tar.xz') as t:
    t.extractall('/tmp/dev/bin/llv')
PY
export HEARTH_WEBGPU_LIB=$DEV/libwebgpu_wrapper.so
export HEARTH_TESTDATA=$PWD/.device/testdata
SUMMARY=$RESULTS/summary.txt
: > "$SUMMARY"

el "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
# The image's default ICD (libGLX_nvidia) may not load; the driver's own ICD file does.
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
$B/hearth gpu-info > $RESULTS/gpu-info.txt 2>&1
cat $RESULTS/gpu-info.txt
if ! grep -q 'backend: *vulkan, discrete' $RESULTS/gpu-info.txt; then
    echo "no discrete Vulkan GPU adapter: stopping" | tee -a "$SUMMARY"
    ls /usr/local/nvidia/share/vulkan/icd.d/ /etc/vulkan/icd.d /usr/share/vulkan/icd.d 2>&1
    cat /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    for l in $(ldconfig -p | grep -E 'libGLX_nvidia|libnvidia-glcore|libGLdispatch' | awk '{print $NF}'); do echo "$l:"; ldd $l | grep 'not found'; done
    VK_LOADER_DEBUG=error,warn,driver $B/hearth gpu-info 2>&1 | tail -30
    exit 1
fi

el "conformance on this GPU"
timeout 240 $B/test_gpu_kernels > $RESULTS/test_gpu_kernels.log 2>&1
echo "test_gpu_kernels: exit $? ($(tail -1 $RESULTS/test_gpu_kernels.log))" | tee -a "$SUMMARY"
grep -v '^ok' $RESULTS/test_gpu_kernels.log | head -20
for m in tiny-llama-q4_0 tiny-qwen2-q4_0 stories260K; do
    ids=$(python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(1,500)) for _ in range(40)))")
    $B/hearth logits .device/testdata/models/$m.gguf --ids $ids --top 5 > $OUT/cpu-$m.jsonl 2>/dev/null
    $B/hearth logits .device/testdata/models/$m.gguf --ids $ids --top 5 --backend webgpu > $OUT/gpu-$m.jsonl 2>/dev/null
    python3 - "$OUT/cpu-$m.jsonl" "$OUT/gpu-$m.jsonl" "$m" <<'PY' | tee -a "$SUMMARY"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
d = 0; same = 0
for x, y in zip(a, b):
    ty = dict((i, v) for i, v in y['top'])
    same += x['top'][0][0] == y['top'][0][0]
    for i, v in x['top']:
        if i in ty: d = max(d, abs(ty[i] - v))
print(f"logits cpu vs webgpu {sys.argv[3]}: {len(a)} positions, top-1 same {same}/{len(a)}, max |diff| {d:.2e}")
PY
    $B/hearth run .device/testdata/models/$m.gguf -p "Once upon a time" -n 48 --temp 0 --json > $OUT/run-cpu-$m.json 2>/dev/null
    $B/hearth run .device/testdata/models/$m.gguf -p "Once upon a time" -n 48 --temp 0 --json --backend webgpu > $OUT/run-gpu-$m.json 2>/dev/null
    if cmp -s $OUT/run-cpu-$m.json $OUT/run-gpu-$m.json; then r=identical; else r=DIFFERENT; fi
    echo "greedy 48 tokens cpu vs webgpu decode path $m: $r" | tee -a "$SUMMARY"
done

el "roofline"
$B/gpu_bench --roofline | tee $OUT/roofline.txt
cat $OUT/roofline.txt >> "$SUMMARY"
[ "$MODE" = quick ] && { el done; cat "$SUMMARY"; exit 0; }

el "models"
mkdir -p /tmp/models
MODELS="qwen2.5-0.5b:q4_0 llama-2-7b:q4_0 llama-3.1-8b:q4_0 llama-3.2-1b:q4_k_m llama-3.1-8b:q4_k_m"
[ "$MODE" = prefill ] && MODELS=${PREFILL_MODELS:-"qwen2.5-0.5b:q4_0 llama-2-7b:q4_0 llama-3.2-1b:q4_k_m"}
SWEEP_MODELS=${SWEEP_MODELS:-"llama-2-7b:q4_0 llama-3.1-8b:q4_0"}
[ "$MODE" = sweep ] && MODELS=$SWEEP_MODELS
for mt in $MODELS; do
    like=${mt%%:*}; ty=${mt##*:}
    [ -f /tmp/models/$like-$ty.gguf ] || $B/hearth synth --like $like --type $ty -o /tmp/models/$like-$ty.gguf > /dev/null
done
ls -la /tmp/models

el "decode-path logits on real shapes: cpu vs webgpu (one token)"
for mt in $MODELS; do
    like=${mt%%:*}; ty=${mt##*:}; f=/tmp/models/$like-$ty.gguf
    for ids in 17; do
        $B/hearth logits $f --ids $ids --top 5 -c 64 > $OUT/c.jsonl 2>/dev/null
        HEARTH_GPU_FAST=1 $B/hearth logits $f --ids $ids --top 5 -c 64 --backend webgpu > $OUT/g.jsonl 2>/dev/null
        python3 - "$OUT/c.jsonl" "$OUT/g.jsonl" "$like-$ty id $ids" <<'PY' | tee -a "$SUMMARY"
import json, sys
a = json.loads(open(sys.argv[1]).readline()); b = json.loads(open(sys.argv[2]).readline())
tb = dict((i, v) for i, v in b['top']); d = max((abs(tb[i] - v) for i, v in a['top'] if i in tb), default=float('nan'))
print(f"decode logits cpu vs webgpu {sys.argv[3]}: top-1 {'same' if a['top'][0][0] == b['top'][0][0] else 'DIFFERENT'}, top-5 overlap {sum(i in tb for i, _ in a['top'])}/5, max |diff| {d:.3g}")
PY
    done
done

if [ "$MODE" = prefill ]; then
    # prefill: the integer matmul (matmul_q, default) against the f32 one (HEARTH_GPU_MMQ=0) in
    # the same run, prefill logits CPU vs WebGPU, a prefill profile, and matmul_q tile shapes
    for mt in $MODELS; do
        like=${mt%%:*}; ty=${mt##*:}; f=/tmp/models/$like-$ty.gguf
        ids=$(python3 -c "import random; random.seed(7); print(','.join(str(random.randrange(1,30000)) for _ in range(70)))")
        $B/hearth logits $f --ids $ids --top 5 -c 128 > $OUT/c.jsonl 2>/dev/null
        HEARTH_GPU_FAST=1 $B/hearth logits $f --ids $ids --top 5 -c 128 --backend webgpu > $OUT/g.jsonl 2>/dev/null
        python3 - "$OUT/c.jsonl" "$OUT/g.jsonl" "$like-$ty" <<'PY' | tee -a "$SUMMARY"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
same = d = 0
for x, y in zip(a, b):
    tb = dict((i, v) for i, v in y['top']); same += x['top'][0][0] == y['top'][0][0]
    d = max([d] + [abs(tb[i] - v) for i, v in x['top'] if i in tb])
print(f"prefill logits cpu vs webgpu {sys.argv[3]}: {len(a)} positions ({len(b)} gpu), top-1 same {same}, max |diff| {d:.3g}")
PY
        for mmq in 0 1; do
            r=$(HEARTH_GPU_MMQ=$mmq HEARTH_GPU_FAST=1 timeout 120 $B/gpu_bench --json --kv16 -p 512 -n 0 --reps 3 --model $f 2>&1 | grep '^{')
            echo "prefill $like-$ty MMQ=$mmq $r" | tee -a "$SUMMARY"
        done
    done
    f=/tmp/models/llama-2-7b-q4_0.gguf
    HEARTH_GPU_FAST=1 timeout 150 $B/gpu_bench --kv16 -p 512 -n 16 --reps 1 --profile --model $f 2>&1 | tee -a "$SUMMARY"
    for v in ${MMQ_VARIANTS:-"TM=8 TN=8" "TM=4 TN=4" "TM=2 TN=8" "TM=8 TN=4" "KU=1" "KU=4"}; do
        env_args=""
        for kv in $v; do env_args="$env_args HEARTH_GPU_MMQ_$kv"; done
        r=$(env $env_args HEARTH_GPU_FAST=1 timeout 120 $B/gpu_bench --json --kv16 -p 512 -n 0 --reps 3 --model $f 2>&1 | grep '^{' | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['prefill_tok_s'])" 2>&1)
        echo "sweep prefill llama-2-7b-q4_0 [$v] $r" | tee -a "$SUMMARY"
    done
fi

if [ "$MODE" != sweep ] && [ "$MODE" != prefill ]; then
    # warm-up: the first measured model otherwise runs before the GPU's clocks have ramped up
    # (Qwen2.5-0.5B decode measured 927 tok/s first and 1115 later in the same run)
    mt=${MODELS%% *}
    HEARTH_GPU_FAST=1 timeout 60 $B/gpu_bench --kv16 -p 512 -n 128 --reps 2 --model /tmp/models/${mt%%:*}-${mt##*:}.gguf > /dev/null 2>&1
    for mt in $MODELS; do
        like=${mt%%:*}; ty=${mt##*:}; f=/tmp/models/$like-$ty.gguf
        el "hearth webgpu $like $ty"
        HEARTH_GPU_FAST=${FAST:-1} timeout 180 $B/gpu_bench --json --kv16 -p 512 -n 128 --reps 3 --profile --model $f 2>&1 | tee -a $RESULTS/hearth.jsonl
        el "llama.cpp vulkan $like $ty"
        timeout 180 $B/gpu_llama_bench --libdir $B/llv -p 512 -n 128 --reps 3 $f 2>&1 | tee -a $RESULTS/llama.jsonl
    done
    grep '^{' $RESULTS/hearth.jsonl | python3 -c "
import json, sys
for l in sys.stdin:
    j = json.loads(l); print(f\"hearth  {j['model'].split('/')[-1]:28s} pp512 {j['prefill_tok_s']:8.1f}  tg128 {j['decode_tok_s']:7.1f}  eval1 {j['eval_tok_s']:7.1f}  {j['dispatches_per_token']} disp/tok  {j['decode_gb_s']:.0f} GB/s\")" | tee -a "$SUMMARY"
    grep '^{' $RESULTS/llama.jsonl | python3 -c "
import json, sys
for l in sys.stdin:
    j = json.loads(l); print(f\"llama   {j['model'].split('/')[-1]:28s} pp512 {j['prefill_tok_s']:8.1f}  tg128 {j['decode_tok_s']:7.1f}  fa {j['flash_attn']}\")" | tee -a "$SUMMARY"
fi

if [ "$MODE" = sweep ] || [ "$MODE" = all ]; then
    el "variant sweep"
    # DECODE_VARIANTS: ';'-separated sets of HEARTH_GPU_* settings; SWEEP_MODELS: like:type list
    IFS=';' read -r -a VARIANTS <<< "${DECODE_VARIANTS:-FAST=1;FAST=1 WG=256;FAST=1 WG=1024;FAST=0}"
    for mt in $SWEEP_MODELS; do
        f=/tmp/models/${mt%%:*}-${mt##*:}.gguf
        [ -f $f ] || $B/hearth synth --like ${mt%%:*} --type ${mt##*:} -o $f > /dev/null
        for v in "${VARIANTS[@]}"; do
            env_args=""; kv="--kv16"
            for kv_ in $v; do
                if [ "$kv_" = KV=32 ]; then kv=""; else env_args="$env_args HEARTH_GPU_$kv_"; fi
            done
            r=$(env $env_args timeout 90 $B/gpu_bench --json $kv -p 512 -n 128 --reps 2 --model $f 2>&1 | grep '^{' | python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print(f\"pp512 {j['prefill_tok_s']:8.1f} tg128 {j['decode_tok_s']:7.1f} eval1 {j['eval_tok_s']:7.1f} {j['decode_gb_s']:6.0f} GB/s\")" 2>&1)
            echo "sweep $(basename $f) [$v] $r" | tee -a "$SUMMARY"
        done
    done
    f=/tmp/models/llama-2-7b-q4_0.gguf
    for v in ${PREFILL_VARIANTS:-}; do
        env_args=""
        for kv in $v; do env_args="$env_args HEARTH_GPU_$kv"; done
        r=$(env $env_args timeout 120 $B/gpu_bench --json --kv16 -p 512 -n 0 --reps 2 --model $f 2>&1 | grep '^{')
        echo "sweep prefill $(basename $f) [$v] $r" | tee -a "$SUMMARY"
    done
fi
el "done"
echo "==== summary"
cat "$SUMMARY"
