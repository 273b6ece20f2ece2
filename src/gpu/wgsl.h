/* wgsl.h — the WGSL sources of src/gpu/wgsl/, embedded at build time (mk/gpu.mk runs
 * tools/embed_wgsl.c into build/gen/wgsl_embed.c).
 *
 *   const char *src = gpu_wgsl("rmsnorm");   // NULL if there is no rmsnorm.wgsl
 */
#ifndef HEARTH_GPU_WGSL_H
#define HEARTH_GPU_WGSL_H

const char *gpu_wgsl(const char *name);
int gpu_wgsl_count(void);
const char *gpu_wgsl_name(int i);

#endif
