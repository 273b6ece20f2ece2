/* cmd_gpu_info.c — `hearth gpu-info`: the WebGPU adapter Hearth would use, its features and
 * the limits the device gets (all of the adapter's), or why there is none. */
#include "cli.h"
#include "gpu/gpu.h"
#include "gpu/gpu_model.h"

#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: hearth gpu-info [--json] [--lib PATH]\n\n"
               "Prints the WebGPU adapter (through Dawn, npm bun-webgpu-linux-x64), its features and\n"
               "limits. On machines without a GPU driver, run it on SwiftShader with\n"
               "VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.\n"
               "  --json      one JSON object\n"
               "  --lib PATH  libwebgpu_wrapper.so to load (default: $HEARTH_WEBGPU_LIB or node_modules)\n");
}

static void json_str(const char *key, const char *v, int comma) {
    printf("  \"%s\": \"", key);
    for (const char *s = v; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    printf("\"%s\n", comma ? "," : "");
}

int cmd_gpu_info(int argc, char **argv) {
    int json = 0;
    gpu_device_params p = gpu_device_default_params();
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) {
            p.lib_path = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    /* A strong reference into the backend's object file: links the WebGPU backend (which
     * engine.h declares weak) into the hearth binary. */
    void *volatile keep = (void *)webgpu_generate;
    (void)keep;
    hearth_error err = {0, ""};
    gpu_device *d;
    if (gpu_device_create(&d, &p, &err)) return cli_fail("gpu-info", "%s", err.msg);
    const gpu_info *in = gpu_device_info(d);
    if (json) {
        printf("{\n");
        json_str("vendor", in->vendor, 1);
        json_str("architecture", in->architecture, 1);
        json_str("device", in->device, 1);
        json_str("description", in->description, 1);
        json_str("backend", in->backend, 1);
        json_str("adapter_type", in->adapter_type, 1);
        printf("  \"vendor_id\": %u,\n  \"device_id\": %u,\n", in->vendor_id, in->device_id);
        printf("  \"features\": [");
        for (int i = 0; i < in->n_features; i++) {
            const char *n = gpu_feature_name(in->features[i]);
            if (n) printf("\"%s\"", n);
            else printf("\"0x%x\"", in->features[i]);
            printf("%s", i + 1 < in->n_features ? ", " : "");
        }
        printf("],\n");
        printf("  \"subgroup_min_size\": %u,\n  \"subgroup_max_size\": %u,\n", in->subgroup_min, in->subgroup_max);
        printf("  \"limits\": {\"max_storage_buffer_binding_size\": %llu, \"max_buffer_size\": %llu, "
               "\"max_uniform_buffer_binding_size\": %llu, \"max_storage_buffers_per_shader_stage\": %u, "
               "\"max_compute_workgroup_storage_size\": %u, \"max_compute_invocations_per_workgroup\": %u, "
               "\"max_compute_workgroup_size\": [%u, %u, %u], \"max_compute_workgroups_per_dimension\": %u, "
               "\"min_storage_buffer_offset_alignment\": %u, \"min_uniform_buffer_offset_alignment\": %u, "
               "\"max_bind_groups\": %u, \"max_bindings_per_bind_group\": %u}\n}\n",
               (unsigned long long)in->max_storage_binding, (unsigned long long)in->max_buffer,
               (unsigned long long)in->max_uniform_binding, in->max_storage_buffers_per_stage,
               in->max_workgroup_storage, in->max_invocations, in->max_wg_x, in->max_wg_y, in->max_wg_z,
               in->max_workgroups_per_dim, in->min_storage_offset_align, in->min_uniform_offset_align,
               in->max_bind_groups, in->max_bindings_per_group);
    } else {
        printf("adapter:      %s%s%s\n", in->device[0] ? in->device : in->description,
               in->description[0] && in->device[0] ? " / " : "", in->device[0] ? in->description : "");
        printf("vendor:       %s (0x%04x)  architecture: %s  device id: 0x%04x\n", in->vendor,
               in->vendor_id, in->architecture[0] ? in->architecture : "-", in->device_id);
        printf("backend:      %s, %s adapter\n", in->backend, in->adapter_type);
        printf("features:    ");
        for (int i = 0; i < in->n_features; i++) {
            const char *n = gpu_feature_name(in->features[i]);
            if (n) printf(" %s", n);
            else printf(" 0x%x", in->features[i]);
        }
        printf("\n");
        printf("shader-f16:   %s   subgroups: %s (size %u..%u)   timestamps: %s\n", in->has_f16 ? "yes" : "no",
               in->has_subgroups ? "yes" : "no", in->subgroup_min, in->subgroup_max,
               in->has_timestamps ? "yes" : "no");
        printf("limits:\n");
        printf("  max storage buffer binding   %llu (%.2f GiB)\n", (unsigned long long)in->max_storage_binding,
               in->max_storage_binding / 1073741824.0);
        printf("  max buffer size              %llu (%.2f GiB)\n", (unsigned long long)in->max_buffer,
               in->max_buffer / 1073741824.0);
        printf("  max uniform buffer binding   %llu\n", (unsigned long long)in->max_uniform_binding);
        printf("  storage buffers per stage    %u\n", in->max_storage_buffers_per_stage);
        printf("  workgroup storage            %u bytes\n", in->max_workgroup_storage);
        printf("  invocations per workgroup    %u (size %u x %u x %u)\n", in->max_invocations, in->max_wg_x,
               in->max_wg_y, in->max_wg_z);
        printf("  workgroups per dimension     %u\n", in->max_workgroups_per_dim);
        printf("  storage / uniform alignment  %u / %u\n", in->min_storage_offset_align, in->min_uniform_offset_align);
    }
    gpu_device_free(d);
    return 0;
}
