/* faults.h — test support for hostile-input and fault-injection tests: a counting allocator
 * (live / peak bytes, allocation count, fail the Nth allocation) installed through
 * hearth_set_allocator, and byte sources that fail, stall (AGAIN) or deliver bytes late.
 *
 *   fault_alloc fa;
 *   fault_alloc_install(&fa, 3);        // the 3rd allocation from now fails (0 = none fails)
 *   int st = gguf_open(&g, &src, &err);
 *   fault_alloc_uninstall(&fa);         // restores libc; fa.live must be 0 once all is freed
 *   printf("peak %zu bytes in %zu allocations\n", fa.peak, fa.n_allocs);
 *
 *   fault_source fs;
 *   fault_source_init(&fs, data, len);  // a memory source that counts reads
 *   fs.fail_at = 2; fs.fail_status = HEARTH_ERR_IO;   // the 2nd read call fails
 *   hearth_source src = fault_source_get(&fs);
 */
#ifndef HEARTH_TESTS_FAULTS_H
#define HEARTH_TESTS_FAULTS_H

#include "hearth.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fault_alloc {
    size_t live;        /* bytes allocated and not freed */
    size_t peak;        /* largest value of live (realloc counts old + new while it copies) */
    size_t n_allocs;    /* malloc + realloc calls */
    size_t n_live;      /* blocks allocated and not freed */
    size_t largest;     /* largest single request */
    size_t fail_at;     /* 1-based: this allocation call fails (0: none) */
    int fail_all_after; /* with fail_at: every later call fails too */
    size_t n_failed;    /* calls failed so far */
    size_t limit;       /* fail any request that would push live above this (0: no limit) */
} fault_alloc;

/* Zeroes *fa, sets fail_at, installs it as the Hearth allocator. */
void fault_alloc_install(fault_alloc *fa, size_t fail_at);
/* Restores libc allocation. Blocks still live must be freed with the same allocator installed. */
void fault_alloc_uninstall(fault_alloc *fa);
/* Resets the counters (peak = live) without touching fail settings. */
void fault_alloc_reset_peak(fault_alloc *fa);

/* A memory byte source with injected failures and late delivery. */
typedef struct fault_source {
    const uint8_t *data;
    uint64_t size;
    uint64_t avail;        /* bytes delivered so far (streaming): reads past it return AGAIN */
    size_t n_reads;        /* read calls so far */
    uint64_t bytes_read;   /* bytes copied so far */
    size_t fail_at;        /* 1-based read call that fails (0: none) */
    int fail_status;       /* status of that call (HEARTH_ERR_IO, HEARTH_ERR_AGAIN, ...) */
    int fail_sticky;       /* keep failing from fail_at on */
    int short_read;        /* the failing call copies only half the bytes and returns OK with the
                              rest zeroed (a buggy source); fail_status is ignored */
    int bad_calls;         /* read calls with offset + len > size (a contract violation) */
    int with_map;          /* expose map() as well (memory sources do) */
} fault_source;

void fault_source_init(fault_source *fs, const void *data, uint64_t size);
hearth_source fault_source_get(fault_source *fs);

#endif
