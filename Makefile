# Makefile — builds the hearth CLI (build/hearth), the C tests, and a sanitizer build of the tests.
#
#   make              build/hearth
#   make test         everything the README's test command runs (see tests/run_all.sh)
#   make check        C tests, optimized build
#   make check-asan   C tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#
# Fragments in mk/*.mk add sources and rules for parts with their own needs (SIMD flags,
# embedded WGSL, wasm, fuzzing).

CC := gcc
BUILD ?= build
OPT ?= -O2
SAN ?=
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
               -Iinclude -Isrc -I$(BUILD)/gen -g -fno-strict-aliasing
CFLAGS := $(CFLAGS_BASE) $(OPT) $(SAN)
LDLIBS := -lm -lpthread -ldl
# backend_webgpu is referenced weakly by the core (builds without src/gpu link too): pull it in
LDFLAGS := $(SAN) -Wl,-u,backend_webgpu

# Quiet build lines ("CC file"); make V=1 prints the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard src/*.c src/cpu/*.c src/gpu/*.c)
CLI_SRC := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
GEN_SRC :=

-include mk/*.mk
# (the fragments define targets of their own: the default stays build/hearth)
.DEFAULT_GOAL := all

LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC) $(GEN_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SUPPORT))
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all test check check-asan check-extra tests clean
all: $(BUILD)/hearth

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(CFLAGS_EXTRA) -MMD -MP -c $< -o $@

$(BUILD)/libhearth.a: $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BUILD)/hearth: $(CLI_OBJ) $(BUILD)/libhearth.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libhearth.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(SUPPORT_OBJ) $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

tests: $(TEST_BIN) $(BUILD)/hearth

check: tests
	tests/run_c_tests.sh $(BUILD)

check-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  SKIP="$(ASAN_SKIP)" tests/run_c_tests.sh build-asan

# Left out of the sanitizer run to keep `make test` well under 20 minutes: their host code is also
# run under ASan by test_gpu_kernels and test_gpu_loss (upload, sessions, prefill, decode, loss);
# they run unsanitized in `make check`. `make check-asan ASAN_SKIP=` runs everything.
ASAN_SKIP ?= test_gpu_model test_gpu_faults

test:
	tests/run_all.sh

# Suites contributed by mk/*.mk fragments add recipes to this double-colon rule.
check-extra::
	@true

clean:
	rm -rf build build-asan build-*

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
