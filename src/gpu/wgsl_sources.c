/* wgsl_sources.c — a kernel's WGSL sources from a module list (see wgsl.h). */
#include "gpu/wgsl.h"

#include <string.h>

int gpu_wgsl_sources(const char *modules, const char *kernel, const char **srcs, int cap) {
    int n = 0;
    const char *p = modules;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name || n >= cap - 1) return -1;
        memcpy(name, p, len);
        name[len] = 0;
        if (!(srcs[n++] = gpu_wgsl(name))) return -1;
        p = e ? e + 1 : NULL;
    }
    if (n >= cap || !(srcs[n++] = gpu_wgsl(kernel))) return -1;
    return n;
}
