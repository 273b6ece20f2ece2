#!/bin/bash
# gpu_stage.sh — prepares what bench/gpu_h100.sh needs on a GPU machine without a toolchain or
# network: builds hearth, the benchmarks and the GPU kernel test here (x86-64), and stages them
# with Dawn (npm bun-webgpu-linux-x64), llama.cpp's Vulkan libraries (npm
# @node-llama-cpp/linux-x64-vulkan), a few test models and the Vulkan/GL loader debs into the
# ignored folders .device/ and .gl/ (about 30 MB together).
set -eu
cd "$(dirname "$0")/.."
make -j2 build/hearth build/tests/test_gpu_kernels gpu-bench gpu-llama-bench >/dev/null
rm -rf .device
mkdir -p .device/bin .device/testdata/models .gl
cp build/hearth build/gpu_bench build/gpu_llama_bench build/tests/test_gpu_kernels .device/bin/
strip .device/bin/*
T=${HEARTH_TESTDATA:-../shared/testdata}
for m in gguf-tensor-types stories260K tiny-llama-q4_0 tiny-qwen2-q4_0; do cp "$T/models/$m.gguf" .device/testdata/models/; done
xz -9 -T2 -c node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so > .device/dawn.so.xz
D=node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan
tar -C $D -cf - libggml-vulkan.so libggml.vulkan.v0.4.0.so libllama.vulkan.v0.4.0.so libggml-base.so \
    libggml-cpu-haswell.so libggml-cpu-x64.so libggml-cpu-sapphirerapids.so libggml-cpu-icelake.so \
    libggml-cpu-zen4.so | xz -9 -T2 > .device/llv.tar.xz
if ! ls .gl/libglvnd0_*.deb >/dev/null 2>&1; then
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    apt-get $o update >/dev/null
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .device .gl
