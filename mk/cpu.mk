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
