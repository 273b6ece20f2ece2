# mk/cpu.mk — SIMD kernel flags (src/cpu/): each x86 level is compiled with its own instruction
# set and chosen at run time by src/cpu/cpu.c. Also the wasm32 SIMD128 build and run of the
# kernel test (check-extra).

X86_AVX2_FLAGS := -mavx2 -mfma -mf16c
X86_AVX512_FLAGS := $(X86_AVX2_FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512vbmi

$(BUILD)/obj/src/cpu/x86_avx2.o: CFLAGS_EXTRA += $(X86_AVX2_FLAGS)
$(BUILD)/obj/src/cpu/x86_avx512.o: CFLAGS_EXTRA += $(X86_AVX512_FLAGS)
$(BUILD)/obj/src/cpu/x86_avx512_gemm.o: CFLAGS_EXTRA += $(X86_AVX512_FLAGS)

# wasm32 SIMD128: the kernel test built for wasm32-wasi with clang-19 and run under node's WASI
# (node 20 runs SIMD128), so the wasm kernels are exercised against the reference too.
WASM_CC ?= clang-19
WASM_LD ?= /usr/bin/wasm-ld-19
WASM_BUILD ?= build-wasm
WASM_CFLAGS := --target=wasm32-wasi --sysroot=/usr -O2 -msimd128 -std=c11 -D_GNU_SOURCE -Wall -Wextra \
               -Werror -Wshadow -Wno-unused-parameter -Iinclude -Isrc
WASM_KERNEL_SRC := src/base.c src/quant.c $(wildcard src/cpu/*.c) tests/test_kernels.c

$(WASM_BUILD)/test_kernels.wasm: $(WASM_KERNEL_SRC) $(wildcard src/cpu/*.h) src/quant.h src/base.h tests/test.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -fuse-ld=$(WASM_LD) -o $@ $(WASM_KERNEL_SRC)

.PHONY: wasm-kernels check-wasm-kernels bench-kernels
wasm-kernels: $(WASM_BUILD)/test_kernels.wasm

check-wasm-kernels: $(WASM_BUILD)/test_kernels.wasm
	node --no-warnings tests/wasi_run.mjs $<

check-extra:: $(WASM_BUILD)/test_kernels.wasm
	node --no-warnings tests/wasi_run.mjs $<

# Kernel benchmark (not a test): make bench-kernels && build/bench/bench_kernels --help
$(BUILD)/bench/bench_kernels: bench/bench_kernels.c $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

bench-kernels: $(BUILD)/bench/bench_kernels

# The kernel benchmark for wasm32-wasi (one thread; run under node):
#   make bench-kernels-wasm && node --no-warnings tests/wasi_run.mjs build-wasm/bench_kernels.wasm --help
$(WASM_BUILD)/bench_kernels.wasm: bench/bench_kernels.c src/base.c src/quant.c $(wildcard src/cpu/*.c) $(wildcard src/cpu/*.h)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -fuse-ld=$(WASM_LD) -Wl,--max-memory=4294967296 -o $@ bench/bench_kernels.c \
	  src/base.c src/quant.c $(wildcard src/cpu/*.c)

.PHONY: bench-kernels-wasm
bench-kernels-wasm: $(WASM_BUILD)/bench_kernels.wasm

# The llama.cpp baseline through its C API (bench/llamacpp_capi.c), linked against node-llama-cpp's
# prebuilt library; the headers come from the package's git bundle (the source of those binaries).
#   make bench-llamacpp && build/bench/llamacpp_capi MODEL.gguf -t 2
LLAMA_BUNDLE := node_modules/node-llama-cpp/llama/gitRelease.bundle
LLAMA_BINS := node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
LLAMA_HDRS := $(BUILD)/llama.cpp-headers

$(LLAMA_HDRS)/include/llama.h: $(LLAMA_BUNDLE)
	@rm -rf $(LLAMA_HDRS) $(LLAMA_HDRS).git && mkdir -p $(LLAMA_HDRS)
	git clone -q --bare $(LLAMA_BUNDLE) $(LLAMA_HDRS).git
	git -C $(LLAMA_HDRS).git archive HEAD include ggml/include | tar -x -C $(LLAMA_HDRS)
	@rm -rf $(LLAMA_HDRS).git
	@touch $@

$(BUILD)/bench/llamacpp_capi: bench/llamacpp_capi.c $(LLAMA_HDRS)/include/llama.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I$(LLAMA_HDRS)/include -I$(LLAMA_HDRS)/ggml/include \
	  -DLLAMA_BACKEND_DIR_DEFAULT='"$(abspath $(LLAMA_BINS))"' -o $@ $< $(LLAMA_BINS)/libllama.v0.4.0.so \
	  $(LLAMA_BINS)/libggml.v0.4.0.so $(LLAMA_BINS)/libggml-base.so -lm -Wl,-rpath,$(abspath $(LLAMA_BINS))

.PHONY: bench-llamacpp
bench-llamacpp: $(BUILD)/bench/llamacpp_capi
