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

check-extra:: tests
	@echo "GPU conformance on SwiftShader ($(SWIFTSHADER_ICD))"
	@test -f "$(SWIFTSHADER_ICD)" || { echo "missing $(SWIFTSHADER_ICD): apt-get install chromium"; exit 1; }
	@fail=0; for t in $(BUILD)/tests/test_gpu*; do \
	  case "$$t" in *.d|*.log) continue;; esac; \
	  if VK_ICD_FILENAMES=$${VK_ICD_FILENAMES:-$(SWIFTSHADER_ICD)} HEARTH_GPU_FULL=1 $$t > $$t.full.log 2>&1; \
	  then echo "PASS $$t (full grid)"; else echo "FAIL $$t (log: $$t.full.log)"; tail -30 $$t.full.log; fail=1; fi; \
	done; exit $$fail
