/* wgsl.h — the WGSL sources of src/gpu/wgsl/, embedded at build time (mk/gpu.mk runs
 * tools/embed_wgsl.c into build/gen/wgsl_embed.c).
 *
 *   const char *src = gpu_wgsl("rmsnorm");   // NULL if there is no rmsnorm.wgsl
 *   n = gpu_wgsl_sources("sg_on,wq_q4_0", "matvec_q", srcs, 4);   // 3 sources, in that order
 */
#ifndef HEARTH_GPU_WGSL_H
#define HEARTH_GPU_WGSL_H

const char *gpu_wgsl(const char *name);
int gpu_wgsl_count(void);
/* The sources of a kernel: the comma-separated modules (prefix modules such as "sg_on" first,
 * then a weight module such as "wq_q4_0"; NULL for none), then the kernel. Returns the number of
 * sources (<= cap), or -1 naming nothing when a name is unknown or cap is too small. */
int gpu_wgsl_sources(const char *modules, const char *kernel, const char **srcs, int cap);
const char *gpu_wgsl_name(int i);

#endif
