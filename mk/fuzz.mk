# fuzz.mk — hostile-input tooling: the generator of the hostile GGUF regression corpus
# (tools/make_hostile_gguf.c over tests/hostile_cases.c), and libFuzzer targets fuzz/fuzz_*.c built
# with clang-19 + ASan + UBSan against the whole library (build-fuzz/).
#
#   make hostile-corpus   regenerate tests/data/hostile/ (+ README.md) and the seed corpora fuzz/corpus/
#   make fuzz-build       build every target into build-fuzz/fuzz/
#   make fuzz-regress     run every target once over its seeds + the hostile corpus (seconds)
#   make fuzz             run every target for min(FUZZ_SECONDS, FUZZ_BUDGET / targets) seconds
#                         (defaults 60 and 180: 30 s per target in CI); FUZZ_BUDGET=0 skips
#   make fuzz-long        every target for FUZZ_LONG_SECONDS (default 4 h) each
#   make fuzz-cov         line/region coverage of the library reached by each target's corpus (llvm-cov-19)
#
# Per-run summaries (executions, coverage, result) are appended to build-fuzz/summary.md; crash
# inputs land in build-fuzz/artifacts/<target>/. Reproduce one: build-fuzz/fuzz/<target> FILE.

HOSTILE_TOOL_SRC := tools/make_hostile_gguf.c tests/gguf_writer.c tests/hostile_cases.c tests/faults.c \
                    tests/micro_model.c

FUZZ_SEED_DIRS := gguf gguf_faults model tokenizer json chat

.PHONY: hostile-corpus fuzz fuzz-long fuzz-build fuzz-regress fuzz-cov fuzz-lib

$(BUILD)/tools/make_hostile_gguf: $(HOSTILE_TOOL_SRC) tests/gguf_writer.h tests/hostile_cases.h tests/faults.h \
                                  tests/micro_model.h $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $(HOSTILE_TOOL_SRC) $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

hostile-corpus: $(BUILD)/tools/make_hostile_gguf
	@mkdir -p tests/data/hostile $(addprefix fuzz/corpus/,$(FUZZ_SEED_DIRS))
	rm -f tests/data/hostile/*.gguf $(addsuffix /*,$(addprefix fuzz/corpus/,$(FUZZ_SEED_DIRS)))
	$(BUILD)/tools/make_hostile_gguf tests/data/hostile
	$(BUILD)/tools/make_hostile_gguf --seeds fuzz/corpus/gguf
	$(BUILD)/tools/make_hostile_gguf --fault-seeds fuzz/corpus/gguf_faults
	$(BUILD)/tools/make_hostile_gguf --model-seeds fuzz/corpus/model
	$(BUILD)/tools/make_hostile_gguf --tokenizer-seeds fuzz/corpus/tokenizer
	$(BUILD)/tools/make_hostile_gguf --json-seeds fuzz/corpus/json
	$(BUILD)/tools/make_hostile_gguf --chat-seeds fuzz/corpus/chat

# ---- libFuzzer -----------------------------------------------------------------------------------

FUZZ_CC ?= clang-19
FUZZ_DIR := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -Itests -Wall -Wextra -Wno-unused-parameter
FUZZ_SUPPORT := tests/faults.c tests/gguf_writer.c tests/hostile_cases.c tests/micro_model.c
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/fuzz/,$(FUZZ_TARGETS))
FUZZ_BUDGET ?= 180
FUZZ_SECONDS ?= 60
FUZZ_LONG_SECONDS ?= 14400
FUZZ_PER := $(shell n=$(words $(FUZZ_TARGETS)); b=$(FUZZ_BUDGET); s=$(FUZZ_SECONDS); \
              if [ $$n -gt 0 ] && [ $$((b / n)) -lt $$s ]; then echo $$((b / n)); else echo $$s; fi)

# The library with coverage instrumentation and sanitizers, built by the main Makefile's own rules
# (so every fragment's per-object flags and generated sources apply). Warnings of other compilers
# do not stop fuzzing: -Wno-error.
fuzz-lib:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=$(FUZZ_CC) OPT="-O1 -Wno-error" \
	  SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_DIR)/libhearth.a

$(FUZZ_DIR)/fuzz/%: fuzz/%.c $(FUZZ_SUPPORT) $(wildcard tests/*.h) $(FUZZ_DIR)/libhearth.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_SUPPORT) $(FUZZ_DIR)/libhearth.a $(LDLIBS)

fuzz-build: fuzz-lib
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@[ -d $(FUZZ_DIR)/seeds/chat ] || ! command -v node >/dev/null || node fuzz/extract_templates.mjs $(FUZZ_DIR)/seeds/chat

fuzz-regress: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do fuzz/run.sh $(FUZZ_DIR)/fuzz/$$t 0 || fail=1; done; exit $$fail

fuzz: fuzz-build
	@if [ "$(FUZZ_BUDGET)" = 0 ]; then echo "fuzz: FUZZ_BUDGET=0, skipped"; exit 0; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets x $(FUZZ_PER) s"; \
	fail=0; for t in $(FUZZ_TARGETS); do fuzz/run.sh $(FUZZ_DIR)/fuzz/$$t $(FUZZ_PER) || fail=1; done; exit $$fail

fuzz-long: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do fuzz/run.sh $(FUZZ_DIR)/fuzz/$$t $(FUZZ_LONG_SECONDS) || fail=1; done; exit $$fail

# Coverage: the same targets built with clang source-based coverage (no sanitizers), run once over
# the seeds + hostile corpus + everything fuzzing added in build-fuzz/corpus/<target>.
FUZZ_COV_DIR := build-fuzz-cov
fuzz-cov:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_COV_DIR) CC=$(FUZZ_CC) OPT="-O1 -Wno-error" \
	  SAN="-fprofile-instr-generate -fcoverage-mapping" $(FUZZ_COV_DIR)/libhearth.a
	@mkdir -p $(FUZZ_COV_DIR)/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
	    -o $(FUZZ_COV_DIR)/fuzz/$$t fuzz/$$t.c $(FUZZ_SUPPORT) $(FUZZ_COV_DIR)/libhearth.a $(LDLIBS) || exit 1; \
	  FUZZ_COVERAGE=1 fuzz/run.sh $(FUZZ_COV_DIR)/fuzz/$$t 0 >/dev/null || exit 1; \
	done; fuzz/coverage.sh $(FUZZ_COV_DIR) $(FUZZ_TARGETS)

check-extra:: fuzz-regress fuzz
