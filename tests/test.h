/* test.h — a tiny test harness: CHECK macros that count failures and say where, and a runner.
 *
 *   static void test_add(void) { CHECK_EQ_INT(1 + 1, 2); }
 *   int main(void) { RUN(test_add); return test_summary(); }
 */
#ifndef HEARTH_TEST_H
#define HEARTH_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures, test_checks;
static const char *test_current = "";

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        test_checks++;                                                                        \
        if (!(cond)) {                                                                        \
            test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, test_current, \
                    #cond);                                                                   \
        }                                                                                     \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                  \
    do {                                                                                      \
        test_checks++;                                                                        \
        if (!(cond)) {                                                                        \
            test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s: ", __FILE__, __LINE__, test_current, \
                    #cond);                                                                   \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
        }                                                                                     \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                    \
    do {                                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                                   \
        CHECK_MSG(a_ == b_, "%lld != %lld", a_, b_);                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                 \
    do {                                                                                      \
        double a_ = (double)(a), b_ = (double)(b);                                            \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tolerance %g)", a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                       \
    do {                                                                                      \
        const char *h_ = (hay), *n_ = (needle);                                               \
        CHECK_MSG(h_ && strstr(h_, n_), "'%s' does not contain '%s'", h_ ? h_ : "(null)", n_); \
    } while (0)

#define RUN(fn)                                                                               \
    do {                                                                                      \
        test_current = #fn;                                                                   \
        int before_ = test_failures;                                                          \
        fn();                                                                                 \
        fprintf(stderr, "%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn);          \
    } while (0)

static inline int test_summary(void) {
    fprintf(stderr, "%d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* Directory of the shared test data (HEARTH_TESTDATA, default ../shared/testdata). */
static inline const char *test_data_dir(void) {
    const char *d = getenv("HEARTH_TESTDATA");
    return d && *d ? d : "../shared/testdata";
}

static inline char *test_path(char *buf, size_t n, const char *rel) {
    snprintf(buf, n, "%s/%s", test_data_dir(), rel);
    return buf;
}

/* The whole file, NUL-terminated (malloc'ed; NULL if it cannot be read). */
static inline char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[n] = 0;
    if (len) *len = b ? (size_t)n : 0;
    return b;
}

#endif
