# gpu.mk — WebGPU backend: embeds src/gpu/wgsl/*.wgsl into the library at build time, and runs
# the GPU suites on SwiftShader (make check-extra).

WGSL_SRC := $(sort $(wildcard src/gpu/wgsl/*.wgsl))
GEN_SRC += $(BUILD)/gen/wgsl_embed.c

$(BUILD)/tools/embed_wgsl: tools/embed_wgsl.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/wgsl_embed.c: $(WGSL_SRC) $(BUILD)/tools/embed_wgsl mk/gpu.mk
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed_wgsl $@ $(WGSL_SRC)

# The GPU tests on SwiftShader (CPU Vulkan from Debian's chromium package), unless the caller
# chose an ICD already.
SWIFTSHADER_ICD ?= /usr/lib/chromium/vk_swiftshader_icd.json

# The quick grids run in `make check` and `make check-asan`; the full grids (every shape of the
# grid, every reference case: ~20 minutes on 2 cores) are `make check-gpu-full`, outside the
# README's test command to keep it well under 20 minutes.
.PHONY: check-gpu-full
check-gpu-full: tests
	@echo "GPU conformance on SwiftShader ($(SWIFTSHADER_ICD))"
	@test -f "$(SWIFTSHADER_ICD)" || { echo "missing $(SWIFTSHADER_ICD): apt-get install chromium"; exit 1; }
	@fail=0; for t in $(BUILD)/tests/test_gpu*; do \
	  case "$$t" in *.d|*.log) continue;; esac; \
	  if VK_ICD_FILENAMES=$${VK_ICD_FILENAMES:-$(SWIFTSHADER_ICD)} HEARTH_GPU_FULL=1 $$t > $$t.full.log 2>&1; \
	  then echo "PASS $$t (full grid)"; else echo "FAIL $$t (log: $$t.full.log)"; tail -30 $$t.full.log; fail=1; fi; \
	done; exit $$fail

# Benchmarks (bench/): not part of `make`; `make gpu-bench` builds them.
.PHONY: gpu-bench
gpu-bench: $(BUILD)/gpu_bench

$(BUILD)/gpu_bench: bench/gpu_bench.c $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

# llama.cpp-Vulkan baseline (bench/gpu_llama_bench.c), built against the headers of the source
# bundle inside npm node-llama-cpp and linked with @node-llama-cpp/linux-x64-vulkan's libraries.
NLC_VK := node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan
.PHONY: gpu-llama-bench
gpu-llama-bench: $(BUILD)/gpu_llama_bench

$(BUILD)/llama-src/include/llama.h:
	rm -rf $(BUILD)/llama-src
	git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle $(BUILD)/llama-src

$(BUILD)/gpu_llama_bench: bench/gpu_llama_bench.c $(BUILD)/llama-src/include/llama.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -I$(BUILD)/llama-src/include -I$(BUILD)/llama-src/ggml/include -o $@ $< \
	  $(NLC_VK)/libllama.vulkan.v0.4.0.so $(NLC_VK)/libggml.vulkan.v0.4.0.so $(NLC_VK)/libggml-base.so \
	  -Wl,-rpath,'$$ORIGIN/llv' -Wl,-rpath,$(abspath $(NLC_VK))
