# mk/cpu.mk — SIMD kernel flags (src/cpu/): each x86 level is compiled with its own instruction
# set and chosen at run time by src/cpu/cpu.c. Also the wasm32 SIMD128 build and run of the
# kernel test (check-extra).

X86_AVX2_FLAGS := -mavx2 -mfma -mf16c
X86_AVX512_FLAGS := $(X86_AVX2_FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512vbmi

$(BUILD)/obj/src/cpu/x86_avx2.o: CFLAGS_EXTRA += $(X86_AVX2_FLAGS)
$(BUILD)/obj/src/cpu/x86_avx512.o: CFLAGS_EXTRA += $(X86_AVX512_FLAGS)
$(BUILD)/obj/src/cpu/x86_avx512_gemm.o: CFLAGS_EXTRA += $(X86_AVX512_FLAGS)
