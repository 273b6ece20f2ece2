# fuzz.mk — hostile-input tooling: the generator of the hostile GGUF regression corpus
# (tools/make_hostile_gguf.c over tests/hostile_cases.c).
#
#   make hostile-corpus   regenerate tests/data/hostile/*.gguf + README.md (commit the result)

HOSTILE_TOOL_SRC := tools/make_hostile_gguf.c tests/gguf_writer.c tests/hostile_cases.c tests/faults.c

.PHONY: hostile-corpus

$(BUILD)/tools/make_hostile_gguf: $(HOSTILE_TOOL_SRC) tests/gguf_writer.h tests/hostile_cases.h tests/faults.h $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $(HOSTILE_TOOL_SRC) $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

hostile-corpus: $(BUILD)/tools/make_hostile_gguf
	@mkdir -p tests/data/hostile
	rm -f tests/data/hostile/*.gguf
	$(BUILD)/tools/make_hostile_gguf tests/data/hostile
