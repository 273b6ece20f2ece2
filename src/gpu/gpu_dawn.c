/* gpu_dawn.c — gpu.h on Dawn's webgpu.h C ABI, loaded with dlopen from the npm package
 * bun-webgpu-linux-x64@0.1.7 (libwebgpu_wrapper.so, Dawn branch chromium/7130, spring 2025).
 *
 * The declarations below are this project's own, written from the ABI facts of that Dawn
 * version (struct layouts, enum values). A header of another Dawn version would break silently
 * (enum values and struct fields moved between versions), so device creation double-checks the
 * ABI against the library's behaviour: the structs the library fills (limits, adapter info) are
 * followed by guard bytes that must stay untouched, and the values must be plausible.
 * Verified against the library: the April-2025 header lacks WGPULimits.maxImmediateSize (after
 * maxComputeWorkgroupsPerDimension) and WGPUBindGroupLayoutEntry.bindingArraySize (after
 * visibility), and its WGPUQueueWorkDoneCallback has no message argument; without these, bind
 * group layouts fail ("had none of buffer, sampler, ... set"), the last limits are shifted and
 * the work-done userdata arrives in the wrong argument. The feature, status and sType values below were checked
 * against what the library reports for SwiftShader and an NVIDIA H100. */
#include "gpu.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- the Dawn ABI we use (own declarations) ---------------------------------------------- */

typedef uint32_t wg_bool;
typedef void *wg_obj; /* every WGPU handle is a pointer */

typedef struct wg_str {
    const char *data;
    size_t length; /* SIZE_MAX: NUL-terminated */
} wg_str;

typedef struct wg_chain {
    struct wg_chain *next;
    uint32_t stype;
} wg_chain;

typedef struct wg_future {
    uint64_t id;
} wg_future;

typedef struct wg_future_wait {
    wg_future future;
    wg_bool completed;
} wg_future_wait;

enum { /* WGPUSType */
    WG_STYPE_SHADER_SOURCE_WGSL = 0x2,
    WG_STYPE_DAWN_TOGGLES = 0x5000A
};
enum { WG_CALLBACK_WAIT_ANY_ONLY = 1, WG_CALLBACK_ALLOW_SPONTANEOUS = 3 }; /* WGPUCallbackMode */
enum { WG_WAIT_SUCCESS = 1, WG_WAIT_TIMED_OUT = 2 };                     /* WGPUWaitStatus */
enum { WG_STATUS_SUCCESS = 1 };                                         /* WGPUStatus */
enum { WG_REQUEST_SUCCESS = 1 };          /* WGPURequestAdapterStatus / RequestDeviceStatus */
enum { WG_MAP_SUCCESS = 1 };              /* WGPUMapAsyncStatus */
enum { WG_WORK_DONE_SUCCESS = 1 };        /* WGPUQueueWorkDoneStatus */
enum { WG_POP_SUCCESS = 1 };              /* WGPUPopErrorScopeStatus */
enum { WG_ERROR_NONE = 1, WG_ERROR_VALIDATION = 2, WG_ERROR_OOM = 3, WG_ERROR_INTERNAL = 4 };
enum { WG_FILTER_VALIDATION = 1, WG_FILTER_OOM = 2, WG_FILTER_INTERNAL = 3 }; /* WGPUErrorFilter */
enum { WG_LOST_UNKNOWN = 1, WG_LOST_DESTROYED = 2, WG_LOST_CANCELLED = 3, WG_LOST_FAILED = 4 };
enum { WG_FEATURE_LEVEL_CORE = 2 };
enum { WG_BACKEND_NULL = 1, WG_BACKEND_VULKAN = 6 }; /* WGPUBackendType */
enum { WG_POWER_LOW = 1, WG_POWER_HIGH = 2 };
enum { WG_BINDING_UNIFORM = 2, WG_BINDING_STORAGE = 3, WG_BINDING_READ_ONLY_STORAGE = 4 };
enum { /* WGPUFeatureName */
    WG_FEATURE_TIMESTAMP_QUERY = 0x3,
    WG_FEATURE_SHADER_F16 = 0xA,
    WG_FEATURE_SUBGROUPS = 0x11
};
/* WGPUBufferUsage / WGPUMapMode / WGPUShaderStage are 64-bit flag words */
#define WG_USAGE_MAP_READ 0x1ull
#define WG_USAGE_COPY_SRC 0x4ull
#define WG_USAGE_COPY_DST 0x8ull
#define WG_USAGE_UNIFORM 0x40ull
#define WG_USAGE_STORAGE 0x80ull
#define WG_MAP_READ 0x1ull
#define WG_STAGE_COMPUTE 0x4ull

typedef struct wg_instance_caps {
    wg_chain *next;
    wg_bool timed_wait_any_enable;
    size_t timed_wait_any_max_count;
} wg_instance_caps;

typedef struct wg_instance_desc {
    wg_chain *next;
    wg_instance_caps caps;
} wg_instance_desc;

typedef struct wg_adapter_opts {
    wg_chain *next;
    uint32_t feature_level;
    uint32_t power_preference;
    wg_bool force_fallback_adapter;
    uint32_t backend_type;
    wg_obj compatible_surface;
} wg_adapter_opts;

typedef void (*wg_request_adapter_cb)(uint32_t status, wg_obj adapter, wg_str msg, void *u1, void *u2);
typedef void (*wg_request_device_cb)(uint32_t status, wg_obj device, wg_str msg, void *u1, void *u2);
typedef void (*wg_device_lost_cb)(const wg_obj *device, uint32_t reason, wg_str msg, void *u1, void *u2);
typedef void (*wg_error_cb)(const wg_obj *device, uint32_t type, wg_str msg, void *u1, void *u2);
typedef void (*wg_map_cb)(uint32_t status, wg_str msg, void *u1, void *u2);
/* Newer than the April-2025 header: the library passes a message (verified: with the old
 * three-argument form the userdata arrives where the message's pointer is). */
typedef void (*wg_work_done_cb)(uint32_t status, wg_str msg, void *u1, void *u2);
typedef void (*wg_pop_error_cb)(uint32_t status, uint32_t type, wg_str msg, void *u1, void *u2);

#define WG_CALLBACK_INFO(name, fn_type)                                                      \
    typedef struct name {                                                                    \
        wg_chain *next;                                                                      \
        uint32_t mode;                                                                       \
        fn_type callback;                                                                    \
        void *userdata1, *userdata2;                                                         \
    } name
WG_CALLBACK_INFO(wg_request_adapter_cbinfo, wg_request_adapter_cb);
WG_CALLBACK_INFO(wg_request_device_cbinfo, wg_request_device_cb);
WG_CALLBACK_INFO(wg_device_lost_cbinfo, wg_device_lost_cb);
WG_CALLBACK_INFO(wg_map_cbinfo, wg_map_cb);
WG_CALLBACK_INFO(wg_work_done_cbinfo, wg_work_done_cb);
WG_CALLBACK_INFO(wg_pop_error_cbinfo, wg_pop_error_cb);

typedef struct wg_error_cbinfo { /* no mode: uncaptured errors are always spontaneous */
    wg_chain *next;
    wg_error_cb callback;
    void *userdata1, *userdata2;
} wg_error_cbinfo;

typedef struct wg_adapter_info {
    wg_chain *next;
    wg_str vendor, architecture, device, description;
    uint32_t backend_type, adapter_type;
    uint32_t vendor_id, device_id;
    uint32_t subgroup_min_size, subgroup_max_size;
} wg_adapter_info;

typedef struct wg_limits {
    wg_chain *next;
    uint32_t max_texture_dimension_1d, max_texture_dimension_2d, max_texture_dimension_3d;
    uint32_t max_texture_array_layers;
    uint32_t max_bind_groups, max_bind_groups_plus_vertex_buffers, max_bindings_per_bind_group;
    uint32_t max_dynamic_uniform_buffers_per_pipeline_layout;
    uint32_t max_dynamic_storage_buffers_per_pipeline_layout;
    uint32_t max_sampled_textures_per_shader_stage, max_samplers_per_shader_stage;
    uint32_t max_storage_buffers_per_shader_stage, max_storage_textures_per_shader_stage;
    uint32_t max_uniform_buffers_per_shader_stage;
    uint64_t max_uniform_buffer_binding_size, max_storage_buffer_binding_size;
    uint32_t min_uniform_buffer_offset_alignment, min_storage_buffer_offset_alignment;
    uint32_t max_vertex_buffers;
    uint64_t max_buffer_size;
    uint32_t max_vertex_attributes, max_vertex_buffer_array_stride;
    uint32_t max_inter_stage_shader_variables, max_color_attachments;
    uint32_t max_color_attachment_bytes_per_sample;
    uint32_t max_compute_workgroup_storage_size, max_compute_invocations_per_workgroup;
    uint32_t max_compute_workgroup_size_x, max_compute_workgroup_size_y;
    uint32_t max_compute_workgroup_size_z, max_compute_workgroups_per_dimension;
    uint32_t max_immediate_size; /* not in the April-2025 header; present in this library */
    uint32_t max_storage_buffers_in_vertex_stage, max_storage_textures_in_vertex_stage;
    uint32_t max_storage_buffers_in_fragment_stage, max_storage_textures_in_fragment_stage;
} wg_limits;

typedef struct wg_supported_features {
    size_t count;
    const uint32_t *features;
} wg_supported_features;

typedef struct wg_queue_desc {
    wg_chain *next;
    wg_str label;
} wg_queue_desc;

typedef struct wg_device_desc {
    wg_chain *next;
    wg_str label;
    size_t required_feature_count;
    const uint32_t *required_features;
    const wg_limits *required_limits;
    wg_queue_desc default_queue;
    wg_device_lost_cbinfo device_lost;
    wg_error_cbinfo uncaptured_error;
} wg_device_desc;

typedef struct wg_toggles_desc {
    wg_chain chain;
    size_t enabled_count;
    const char *const *enabled;
    size_t disabled_count;
    const char *const *disabled;
} wg_toggles_desc;

typedef struct wg_buffer_desc {
    wg_chain *next;
    wg_str label;
    uint64_t usage;
    uint64_t size;
    wg_bool mapped_at_creation;
} wg_buffer_desc;

typedef struct wg_shader_source_wgsl {
    wg_chain chain;
    wg_str code;
} wg_shader_source_wgsl;

typedef struct wg_shader_desc {
    wg_chain *next;
    wg_str label;
} wg_shader_desc;

typedef struct wg_constant_entry {
    wg_chain *next;
    wg_str key;
    double value;
} wg_constant_entry;

typedef struct wg_compute_state {
    wg_chain *next;
    wg_obj module;
    wg_str entry_point;
    size_t constant_count;
    const wg_constant_entry *constants;
} wg_compute_state;

typedef struct wg_compute_pipeline_desc {
    wg_chain *next;
    wg_str label;
    wg_obj layout;
    wg_compute_state compute;
} wg_compute_pipeline_desc;

typedef struct wg_bgl_entry {
    wg_chain *next;
    uint32_t binding;
    uint64_t visibility;
    uint32_t binding_array_size; /* likewise newer than April 2025: 0 = not an array */
    struct {
        wg_chain *next;
        uint32_t type;
        wg_bool has_dynamic_offset;
        uint64_t min_binding_size;
    } buffer;
    struct {
        wg_chain *next;
        uint32_t type;
    } sampler;
    struct {
        wg_chain *next;
        uint32_t sample_type, view_dimension;
        wg_bool multisampled;
    } texture;
    struct {
        wg_chain *next;
        uint32_t access, format, view_dimension;
    } storage_texture;
} wg_bgl_entry;

typedef struct wg_bgl_desc {
    wg_chain *next;
    wg_str label;
    size_t entry_count;
    const wg_bgl_entry *entries;
} wg_bgl_desc;

typedef struct wg_pipeline_layout_desc {
    wg_chain *next;
    wg_str label;
    size_t bind_group_layout_count;
    const wg_obj *bind_group_layouts;
    uint32_t immediate_data_range_byte_size;
} wg_pipeline_layout_desc;

typedef struct wg_bg_entry {
    wg_chain *next;
    uint32_t binding;
    wg_obj buffer;
    uint64_t offset, size;
    wg_obj sampler, texture_view;
} wg_bg_entry;

typedef struct wg_bg_desc {
    wg_chain *next;
    wg_str label;
    wg_obj layout;
    size_t entry_count;
    const wg_bg_entry *entries;
} wg_bg_desc;

typedef struct wg_label_desc { /* command encoder / command buffer descriptors */
    wg_chain *next;
    wg_str label;
} wg_label_desc;

typedef struct wg_pass_desc {
    wg_chain *next;
    wg_str label;
    const void *timestamp_writes;
} wg_pass_desc;

/* The functions we call, resolved with dlsym. */
#define WG_FUNCS(X)                                                                              \
    X(wg_obj, wgpuCreateInstance, (const wg_instance_desc *))                                    \
    X(void, wgpuInstanceRelease, (wg_obj))                                                       \
    X(wg_future, wgpuInstanceRequestAdapter, (wg_obj, const wg_adapter_opts *, wg_request_adapter_cbinfo)) \
    X(uint32_t, wgpuInstanceWaitAny, (wg_obj, size_t, wg_future_wait *, uint64_t))              \
    X(void, wgpuInstanceProcessEvents, (wg_obj))                                                 \
    X(uint32_t, wgpuAdapterGetInfo, (wg_obj, wg_adapter_info *))                                 \
    X(void, wgpuAdapterInfoFreeMembers, (wg_adapter_info))                                       \
    X(uint32_t, wgpuAdapterGetLimits, (wg_obj, wg_limits *))                                     \
    X(void, wgpuAdapterGetFeatures, (wg_obj, wg_supported_features *))                          \
    X(void, wgpuSupportedFeaturesFreeMembers, (wg_supported_features))                          \
    X(wg_bool, wgpuAdapterHasFeature, (wg_obj, uint32_t))                                        \
    X(wg_future, wgpuAdapterRequestDevice, (wg_obj, const wg_device_desc *, wg_request_device_cbinfo)) \
    X(void, wgpuAdapterRelease, (wg_obj))                                                        \
    X(uint32_t, wgpuDeviceGetLimits, (wg_obj, wg_limits *))                                      \
    X(wg_obj, wgpuDeviceGetQueue, (wg_obj))                                                      \
    X(void, wgpuDeviceDestroy, (wg_obj))                                                         \
    X(void, wgpuDeviceRelease, (wg_obj))                                                         \
    X(void, wgpuDevicePushErrorScope, (wg_obj, uint32_t))                                        \
    X(wg_future, wgpuDevicePopErrorScope, (wg_obj, wg_pop_error_cbinfo))                        \
    X(wg_obj, wgpuDeviceCreateBuffer, (wg_obj, const wg_buffer_desc *))                          \
    X(wg_obj, wgpuDeviceCreateShaderModule, (wg_obj, const wg_shader_desc *))                    \
    X(wg_obj, wgpuDeviceCreateBindGroupLayout, (wg_obj, const wg_bgl_desc *))                    \
    X(wg_obj, wgpuDeviceCreatePipelineLayout, (wg_obj, const wg_pipeline_layout_desc *))         \
    X(wg_obj, wgpuDeviceCreateComputePipeline, (wg_obj, const wg_compute_pipeline_desc *))       \
    X(wg_obj, wgpuDeviceCreateBindGroup, (wg_obj, const wg_bg_desc *))                           \
    X(wg_obj, wgpuDeviceCreateCommandEncoder, (wg_obj, const wg_label_desc *))                   \
    X(void, wgpuBufferDestroy, (wg_obj))                                                         \
    X(void, wgpuBufferRelease, (wg_obj))                                                         \
    X(wg_future, wgpuBufferMapAsync, (wg_obj, uint64_t, size_t, size_t, wg_map_cbinfo))          \
    X(const void *, wgpuBufferGetConstMappedRange, (wg_obj, size_t, size_t))                    \
    X(void, wgpuBufferUnmap, (wg_obj))                                                           \
    X(void, wgpuShaderModuleRelease, (wg_obj))                                                   \
    X(void, wgpuBindGroupLayoutRelease, (wg_obj))                                                \
    X(void, wgpuPipelineLayoutRelease, (wg_obj))                                                 \
    X(void, wgpuComputePipelineRelease, (wg_obj))                                                \
    X(void, wgpuBindGroupRelease, (wg_obj))                                                      \
    X(wg_obj, wgpuCommandEncoderBeginComputePass, (wg_obj, const wg_pass_desc *))                \
    X(void, wgpuCommandEncoderCopyBufferToBuffer, (wg_obj, wg_obj, uint64_t, wg_obj, uint64_t, uint64_t)) \
    X(void, wgpuCommandEncoderClearBuffer, (wg_obj, wg_obj, uint64_t, uint64_t))                 \
    X(wg_obj, wgpuCommandEncoderFinish, (wg_obj, const wg_label_desc *))                         \
    X(void, wgpuCommandEncoderRelease, (wg_obj))                                                 \
    X(void, wgpuComputePassEncoderSetPipeline, (wg_obj, wg_obj))                                 \
    X(void, wgpuComputePassEncoderSetBindGroup, (wg_obj, uint32_t, wg_obj, size_t, const uint32_t *)) \
    X(void, wgpuComputePassEncoderDispatchWorkgroups, (wg_obj, uint32_t, uint32_t, uint32_t))   \
    X(void, wgpuComputePassEncoderEnd, (wg_obj))                                                 \
    X(void, wgpuComputePassEncoderRelease, (wg_obj))                                             \
    X(void, wgpuCommandBufferRelease, (wg_obj))                                                  \
    X(void, wgpuQueueSubmit, (wg_obj, size_t, const wg_obj *))                                   \
    X(void, wgpuQueueWriteBuffer, (wg_obj, wg_obj, uint64_t, const void *, size_t))              \
    X(wg_future, wgpuQueueOnSubmittedWorkDone, (wg_obj, wg_work_done_cbinfo))                   \
    X(void, wgpuQueueRelease, (wg_obj))

typedef struct wg_api {
#define WG_DECLARE(ret, name, args) ret(*name) args;
    WG_FUNCS(WG_DECLARE)
#undef WG_DECLARE
} wg_api;

/* ---- objects ------------------------------------------------------------------------------- */

#define RING_SLOTS 2048 /* parameter blocks per submit before an automatic flush */

struct gpu_device {
    void *lib;
    wg_api w;
    wg_obj instance, adapter, device, queue;
    gpu_info info;
    wg_limits limits;
    int robustness;
    /* recording */
    wg_obj encoder, pass;
    wg_obj ring;           /* uniform buffer of RING_SLOTS parameter blocks */
    uint8_t *ring_host;    /* CPU copy written at submit */
    uint32_t ring_stride;  /* bytes per slot (min uniform offset alignment, >= GPU_PARAMS_MAX) */
    uint32_t ring_used;
    uint64_t n_dispatch;
    uint64_t lose_at;      /* fault injection: destroy the device at this dispatch count (0: never) */
    int rec_status;        /* first recording error since the last submit */
    char rec_msg[256];
    /* asynchronous state set by callbacks */
    int lost, closing;
    int gpu_status;        /* first uncaptured error */
    char gpu_msg[400];
    gpu_buffer *tmp_rb;    /* gpu_read's readback buffer */
};

struct gpu_buffer {
    gpu_device *d;
    wg_obj buf;
    uint64_t size;
    int usage;
    /* mapping */
    int map_state; /* 0 idle, 1 pending, 2 mapped, 3 failed */
    wg_future map_future;
    uint64_t map_off;
    size_t map_len;
    char map_msg[160];
};

typedef struct gpu_slot {
    uint32_t binding;
    uint32_t type; /* WG_BINDING_* */
} gpu_slot;

struct gpu_kernel {
    gpu_device *d;
    wg_obj pipeline, bgl;
    int has_params;
    int n_storage;
    gpu_slot slots[GPU_MAX_BINDINGS];
    char label[64];
};

struct gpu_bindings {
    gpu_kernel *k;
    wg_obj group;
};

static wg_str wstr(const char *s) { return (wg_str){s, s ? SIZE_MAX : 0}; }

static void copy_str(char *dst, size_t n, wg_str s) {
    size_t len = s.data ? (s.length == SIZE_MAX ? strlen(s.data) : s.length) : 0;
    if (len >= n) len = n - 1;
    if (len) memcpy(dst, s.data, len);
    dst[len] = 0;
}

/* ---- callbacks (userdata1 = the device or a result slot) ----------------------------------- */

static void on_device_lost(const wg_obj *device, uint32_t reason, wg_str msg, void *u1, void *u2) {
    (void)device;
    (void)u2;
    gpu_device *d = u1;
    if (!d || d->closing) return;
    d->lost = 1;
    char m[300];
    copy_str(m, sizeof m, msg);
    snprintf(d->gpu_msg, sizeof d->gpu_msg, "webgpu: device lost (%s): %s",
             reason == WG_LOST_DESTROYED ? "destroyed" : reason == WG_LOST_FAILED ? "creation failed" : "unknown",
             m);
    d->gpu_status = HEARTH_ERR_DEVICE_LOST;
}

static void on_uncaptured_error(const wg_obj *device, uint32_t type, wg_str msg, void *u1, void *u2) {
    (void)device;
    (void)u2;
    gpu_device *d = u1;
    if (!d || d->closing || d->gpu_status) return; /* keep the first */
    char m[340];
    copy_str(m, sizeof m, msg);
    snprintf(d->gpu_msg, sizeof d->gpu_msg, "webgpu: %s error: %s",
             type == WG_ERROR_OOM ? "out-of-memory" : type == WG_ERROR_VALIDATION ? "validation"
                                                      : "internal",
             m);
    d->gpu_status = HEARTH_ERR_GPU;
}

typedef struct req_result {
    uint32_t status;
    wg_obj obj;
    char msg[256];
} req_result;

static void on_adapter(uint32_t status, wg_obj adapter, wg_str msg, void *u1, void *u2) {
    (void)u2;
    req_result *r = u1;
    r->status = status;
    r->obj = adapter;
    copy_str(r->msg, sizeof r->msg, msg);
}

static void on_device(uint32_t status, wg_obj device, wg_str msg, void *u1, void *u2) {
    (void)u2;
    req_result *r = u1;
    r->status = status;
    r->obj = device;
    copy_str(r->msg, sizeof r->msg, msg);
}

static void on_map(uint32_t status, wg_str msg, void *u1, void *u2) {
    (void)u2;
    gpu_buffer *b = u1;
    if (status == WG_MAP_SUCCESS) {
        b->map_state = 2;
    } else {
        b->map_state = 3;
        copy_str(b->map_msg, sizeof b->map_msg, msg);
    }
}

static void on_work_done(uint32_t status, wg_str msg, void *u1, void *u2) {
    (void)msg;
    (void)u2;
    *(uint32_t *)u1 = status;
}

static void on_pop_error(uint32_t status, uint32_t type, wg_str msg, void *u1, void *u2) {
    (void)u2;
    req_result *r = u1;
    r->status = status == WG_POP_SUCCESS ? type : 0;
    copy_str(r->msg, sizeof r->msg, msg);
}

/* Waits for a future; returns 0 when completed. */
static int wait_future(gpu_device *d, wg_future f, uint64_t timeout_ns) {
    wg_future_wait w = {f, 0};
    uint32_t s = d->w.wgpuInstanceWaitAny(d->instance, 1, &w, timeout_ns);
    if (s == WG_WAIT_SUCCESS && w.completed) return 0;
    return s == WG_WAIT_TIMED_OUT ? HEARTH_ERR_AGAIN : HEARTH_ERR_GPU;
}

/* ---- device ------------------------------------------------------------------------------ */

gpu_device_params gpu_device_default_params(void) {
    gpu_device_params p;
    memset(&p, 0, sizeof p);
    p.robustness = 1;
    return p;
}

static const struct {
    uint32_t id;
    const char *name;
} feature_names[] = {
    {0x1, "depth-clip-control"}, {0x2, "depth32float-stencil8"}, {0x3, "timestamp-query"},
    {0x4, "texture-compression-bc"}, {0x5, "texture-compression-bc-sliced-3d"},
    {0x6, "texture-compression-etc2"}, {0x7, "texture-compression-astc"},
    {0x8, "texture-compression-astc-sliced-3d"}, {0x9, "indirect-first-instance"},
    {0xA, "shader-f16"}, {0xB, "rg11b10ufloat-renderable"}, {0xC, "bgra8unorm-storage"},
    {0xD, "float32-filterable"}, {0xE, "float32-blendable"}, {0xF, "clip-distances"},
    {0x10, "dual-source-blending"}, {0x11, "subgroups"}, {0x12, "core-features-and-limits"},
    {0x50002, "dawn-native"}, {0x50003, "chromium-experimental-timestamp-query-inside-passes"},
    {0x50004, "implicit-device-synchronization"}, {0x50005, "chromium-experimental-immediate-data"},
    {0x50008, "subgroups-f16"}, {0x50011, "host-mapped-pointer"},
    {0x50015, "buffer-map-extended-usages"}, {0x50016, "adapter-properties-memory-heaps"},
    {0x50018, "adapter-properties-vk"}, {0x50038, "chromium-experimental-subgroup-matrix"},
};

const char *gpu_feature_name(uint32_t f) {
    for (size_t i = 0; i < H_ARRAY_LEN(feature_names); i++)
        if (feature_names[i].id == f) return feature_names[i].name;
    return NULL;
}

static const char *backend_name(uint32_t b) {
    static const char *const names[] = {"undefined", "null", "webgpu", "d3d11", "d3d12",
                                        "metal", "vulkan", "opengl", "opengles"};
    return b < H_ARRAY_LEN(names) ? names[b] : "unknown";
}

static const char *adapter_type_name(uint32_t t) {
    static const char *const names[] = {"?", "discrete", "integrated", "cpu", "unknown"};
    return t < H_ARRAY_LEN(names) ? names[t] : "unknown";
}

static void *open_library(const char *want, char *tried, size_t n_tried) {
    char buf[PATH_MAX];
    const char *cands[4];
    int nc = 0;
    const char *rel = "node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so";
    if (want) {
        cands[nc++] = want;
    } else {
        const char *env = getenv("HEARTH_WEBGPU_LIB");
        if (env && *env) cands[nc++] = env;
        cands[nc++] = rel;
        ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (len > 0) {
            buf[len] = 0;
            char *slash = strrchr(buf, '/');
            if (slash) {
                *slash = 0;
                size_t used = strlen(buf);
                if (used + 4 + strlen(rel) < sizeof buf) {
                    memcpy(buf + used, "/../", 4);
                    memcpy(buf + used + 4, rel, strlen(rel) + 1);
                    cands[nc++] = buf;
                }
            }
        }
    }
    tried[0] = 0;
    for (int i = 0; i < nc; i++) {
        void *h = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (h) return h;
        const char *e = dlerror();
        size_t used = strlen(tried);
        snprintf(tried + used, n_tried - used, "%s%s", used ? "; " : "", e ? e : cands[i]);
    }
    return NULL;
}

/* A struct the library fills, followed by guard bytes that must stay untouched. */
#define GUARD_BYTES 256
#define GUARD_FILL 0xA5

static int guard_intact(const uint8_t *g) {
    for (int i = 0; i < GUARD_BYTES; i++)
        if (g[i] != GUARD_FILL) return 0;
    return 1;
}

static int query_adapter(gpu_device *d, hearth_error *err) {
    struct {
        wg_adapter_info info;
        uint8_t guard[GUARD_BYTES];
    } ai;
    memset(&ai, 0, sizeof ai.info);
    memset(ai.guard, GUARD_FILL, sizeof ai.guard);
    if (d->w.wgpuAdapterGetInfo(d->adapter, &ai.info) != WG_STATUS_SUCCESS)
        return h_err(err, HEARTH_ERR_GPU, "webgpu: wgpuAdapterGetInfo failed");
    if (!guard_intact(ai.guard))
        return h_err(err, HEARTH_ERR_INTERNAL,
                     "webgpu: ABI mismatch: the library wrote past WGPUAdapterInfo (not the Dawn "
                     "chromium/7130 ABI this build declares)");
    gpu_info *in = &d->info;
    copy_str(in->vendor, sizeof in->vendor, ai.info.vendor);
    copy_str(in->architecture, sizeof in->architecture, ai.info.architecture);
    copy_str(in->device, sizeof in->device, ai.info.device);
    copy_str(in->description, sizeof in->description, ai.info.description);
    in->backend = backend_name(ai.info.backend_type);
    in->adapter_type = adapter_type_name(ai.info.adapter_type);
    in->vendor_id = ai.info.vendor_id;
    in->device_id = ai.info.device_id;
    in->subgroup_min = ai.info.subgroup_min_size;
    in->subgroup_max = ai.info.subgroup_max_size;
    d->w.wgpuAdapterInfoFreeMembers(ai.info);

    struct {
        wg_limits l;
        uint8_t guard[GUARD_BYTES];
    } lim;
    memset(&lim.l, 0, sizeof lim.l);
    memset(lim.guard, GUARD_FILL, sizeof lim.guard);
    if (d->w.wgpuAdapterGetLimits(d->adapter, &lim.l) != WG_STATUS_SUCCESS)
        return h_err(err, HEARTH_ERR_GPU, "webgpu: wgpuAdapterGetLimits failed");
    if (!guard_intact(lim.guard))
        return h_err(err, HEARTH_ERR_INTERNAL, "webgpu: ABI mismatch: the library wrote past WGPULimits");
    const wg_limits *l = &lim.l;
    /* Plausibility: WebGPU's guaranteed minimums, and the fields after the 64-bit ones. A
     * shifted layout fails these. */
    if (l->max_bind_groups < 4 || l->max_bind_groups > 1024 || l->max_compute_workgroup_size_x < 256 ||
        l->max_compute_invocations_per_workgroup < 256 || l->max_storage_buffer_binding_size < (128u << 20) ||
        l->max_buffer_size < (256u << 20) || l->min_storage_buffer_offset_alignment == 0 ||
        (l->min_storage_buffer_offset_alignment & (l->min_storage_buffer_offset_alignment - 1)) ||
        l->min_uniform_buffer_offset_alignment == 0 || l->min_uniform_buffer_offset_alignment > 256 ||
        l->max_compute_workgroups_per_dimension < 65535 || l->max_storage_buffers_per_shader_stage < 8)
        return h_err(err, HEARTH_ERR_INTERNAL,
                     "webgpu: ABI mismatch: implausible adapter limits (max_bind_groups %u, "
                     "max_workgroup_size_x %u, max_storage_binding %llu)",
                     l->max_bind_groups, l->max_compute_workgroup_size_x,
                     (unsigned long long)l->max_storage_buffer_binding_size);
    d->limits = *l;
    d->limits.next = NULL;

    wg_supported_features sf = {0, NULL};
    d->w.wgpuAdapterGetFeatures(d->adapter, &sf);
    in->n_features = 0;
    for (size_t i = 0; i < sf.count && in->n_features < (int)H_ARRAY_LEN(in->features); i++)
        in->features[in->n_features++] = sf.features[i];
    d->w.wgpuSupportedFeaturesFreeMembers(sf);
    in->has_f16 = d->w.wgpuAdapterHasFeature(d->adapter, WG_FEATURE_SHADER_F16) != 0;
    in->has_subgroups = d->w.wgpuAdapterHasFeature(d->adapter, WG_FEATURE_SUBGROUPS) != 0;
    in->has_timestamps = d->w.wgpuAdapterHasFeature(d->adapter, WG_FEATURE_TIMESTAMP_QUERY) != 0;
    return HEARTH_OK;
}

static void fill_limits_info(gpu_device *d, uint64_t max_binding) {
    gpu_info *in = &d->info;
    const wg_limits *l = &d->limits;
    in->max_storage_binding = l->max_storage_buffer_binding_size;
    if (max_binding && max_binding < in->max_storage_binding) in->max_storage_binding = max_binding;
    in->max_buffer = l->max_buffer_size;
    in->max_uniform_binding = l->max_uniform_buffer_binding_size;
    in->max_storage_buffers_per_stage = l->max_storage_buffers_per_shader_stage;
    in->max_workgroup_storage = l->max_compute_workgroup_storage_size;
    in->max_invocations = l->max_compute_invocations_per_workgroup;
    in->max_wg_x = l->max_compute_workgroup_size_x;
    in->max_wg_y = l->max_compute_workgroup_size_y;
    in->max_wg_z = l->max_compute_workgroup_size_z;
    in->max_workgroups_per_dim = l->max_compute_workgroups_per_dimension;
    in->min_storage_offset_align = l->min_storage_buffer_offset_alignment;
    in->min_uniform_offset_align = l->min_uniform_buffer_offset_alignment;
    in->max_bind_groups = l->max_bind_groups;
    in->max_bindings_per_group = l->max_bindings_per_bind_group;
}

int gpu_device_create(gpu_device **out, const gpu_device_params *pp, hearth_error *err) {
    *out = NULL;
    gpu_device_params p = pp ? *pp : gpu_device_default_params();
    gpu_device *d = h_calloc(1, sizeof *d);
    if (!d) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    d->robustness = p.robustness;
    int st;
    char tried[1024];
    d->lib = open_library(p.lib_path, tried, sizeof tried);
    if (!d->lib) {
        st = h_err(err, HEARTH_ERR_UNSUPPORTED,
                   "webgpu: cannot load Dawn (libwebgpu_wrapper.so of npm bun-webgpu-linux-x64@0.1.7; "
                   "run npm ci, or set HEARTH_WEBGPU_LIB): %s", tried);
        goto fail;
    }
#define WG_RESOLVE(ret, name, args)                                                              \
    d->w.name = (ret(*) args)dlsym(d->lib, #name);                                               \
    if (!d->w.name) {                                                                            \
        st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: the library lacks %s", #name);           \
        goto fail;                                                                               \
    }
    WG_FUNCS(WG_RESOLVE)
#undef WG_RESOLVE

    wg_instance_desc idesc;
    memset(&idesc, 0, sizeof idesc);
    idesc.caps.timed_wait_any_enable = 1;
    idesc.caps.timed_wait_any_max_count = 64;
    d->instance = d->w.wgpuCreateInstance(&idesc);
    if (!d->instance) {
        st = h_err(err, HEARTH_ERR_GPU, "webgpu: wgpuCreateInstance failed");
        goto fail;
    }

    /* Adapter: the preferred one, else a fallback (CPU) adapter such as SwiftShader. */
    for (int fallback = 0; fallback < 2 && !d->adapter; fallback++) {
        wg_adapter_opts ao;
        memset(&ao, 0, sizeof ao);
        ao.feature_level = WG_FEATURE_LEVEL_CORE;
        ao.power_preference = p.low_power ? WG_POWER_LOW : WG_POWER_HIGH;
        ao.force_fallback_adapter = (wg_bool)fallback;
        ao.backend_type = WG_BACKEND_VULKAN; /* never Dawn's Null backend (it computes nothing) */
        req_result r;
        memset(&r, 0, sizeof r);
        wg_request_adapter_cbinfo cb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_adapter, &r, NULL};
        wg_future f = d->w.wgpuInstanceRequestAdapter(d->instance, &ao, cb);
        if (wait_future(d, f, UINT64_MAX) != 0) {
            st = h_err(err, HEARTH_ERR_GPU, "webgpu: waiting for the adapter failed");
            goto fail;
        }
        if (r.status == WG_REQUEST_SUCCESS && r.obj) d->adapter = r.obj;
        else if (fallback) {
            st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: no WebGPU adapter%s%s (Vulkan driver or "
                       "VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json needed)",
                       r.msg[0] ? ": " : "", r.msg);
            goto fail;
        }
    }
    if ((st = query_adapter(d, err))) goto fail;
    if (strcmp(d->info.backend, "null") == 0) {
        st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: only Dawn's Null backend is available (no Vulkan driver)");
        goto fail;
    }

    /* Device: every adapter limit, the features we can use, errors and loss as callbacks. */
    uint32_t feats[4];
    size_t n_feats = 0;
    if (d->info.has_f16) feats[n_feats++] = WG_FEATURE_SHADER_F16;
    if (d->info.has_subgroups) feats[n_feats++] = WG_FEATURE_SUBGROUPS;
    if (d->info.has_timestamps) feats[n_feats++] = WG_FEATURE_TIMESTAMP_QUERY;
    const char *fast_toggles[] = {"disable_robustness", "disable_workgroup_init", "skip_validation"};
    wg_toggles_desc toggles;
    memset(&toggles, 0, sizeof toggles);
    toggles.chain.stype = WG_STYPE_DAWN_TOGGLES;
    toggles.enabled = fast_toggles;
    toggles.enabled_count = H_ARRAY_LEN(fast_toggles);
    struct {
        wg_device_desc dd;
        uint8_t zero_tail[64]; /* fields a newer layout might read stay zero (= defaults) */
    } dd;
    memset(&dd, 0, sizeof dd);
    dd.dd.next = p.robustness ? NULL : &toggles.chain;
    dd.dd.label = wstr("hearth");
    dd.dd.required_feature_count = n_feats;
    dd.dd.required_features = feats;
    dd.dd.required_limits = &d->limits;
    dd.dd.device_lost = (wg_device_lost_cbinfo){NULL, WG_CALLBACK_ALLOW_SPONTANEOUS, on_device_lost, d, NULL};
    dd.dd.uncaptured_error = (wg_error_cbinfo){NULL, on_uncaptured_error, d, NULL};
    req_result r;
    memset(&r, 0, sizeof r);
    wg_request_device_cbinfo dcb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_device, &r, NULL};
    wg_future f = d->w.wgpuAdapterRequestDevice(d->adapter, &dd.dd, dcb);
    if (wait_future(d, f, UINT64_MAX) != 0 || r.status != WG_REQUEST_SUCCESS || !r.obj) {
        st = h_err(err, HEARTH_ERR_GPU, "webgpu: requesting a device failed: %s", r.msg);
        goto fail;
    }
    d->device = r.obj;
    /* What the device really got (the requested limits must have been granted). */
    struct {
        wg_limits l;
        uint8_t guard[GUARD_BYTES];
    } dl;
    memset(&dl.l, 0, sizeof dl.l);
    memset(dl.guard, GUARD_FILL, sizeof dl.guard);
    if (d->w.wgpuDeviceGetLimits(d->device, &dl.l) != WG_STATUS_SUCCESS || !guard_intact(dl.guard)) {
        st = h_err(err, HEARTH_ERR_INTERNAL, "webgpu: wgpuDeviceGetLimits failed or wrote past WGPULimits");
        goto fail;
    }
    if (dl.l.max_storage_buffer_binding_size != d->limits.max_storage_buffer_binding_size) {
        st = h_err(err, HEARTH_ERR_INTERNAL,
                   "webgpu: device limits differ from the requested adapter limits (storage "
                   "binding %llu, asked %llu)",
                   (unsigned long long)dl.l.max_storage_buffer_binding_size,
                   (unsigned long long)d->limits.max_storage_buffer_binding_size);
        goto fail;
    }
    fill_limits_info(d, p.max_binding);
    d->queue = d->w.wgpuDeviceGetQueue(d->device);

    /* Parameter ring. */
    d->ring_stride = H_MAX(d->limits.min_uniform_buffer_offset_alignment, GPU_PARAMS_MAX);
    d->ring_host = h_calloc(RING_SLOTS, d->ring_stride);
    if (!d->ring_host) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        goto fail;
    }
    wg_buffer_desc bd;
    memset(&bd, 0, sizeof bd);
    bd.label = wstr("params");
    bd.usage = WG_USAGE_UNIFORM | WG_USAGE_COPY_DST;
    bd.size = (uint64_t)RING_SLOTS * d->ring_stride;
    d->ring = d->w.wgpuDeviceCreateBuffer(d->device, &bd);
    if (!d->ring || d->gpu_status) {
        st = h_err(err, HEARTH_ERR_GPU, "webgpu: creating the parameter buffer failed: %s", d->gpu_msg);
        goto fail;
    }
    *out = d;
    return HEARTH_OK;
fail:
    gpu_device_free(d);
    return st;
}

const gpu_info *gpu_device_info(const gpu_device *d) { return &d->info; }

int gpu_device_lost(const gpu_device *d) { return d ? d->lost : 1; }

int gpu_device_check(gpu_device *d, hearth_error *err) {
    if (d->gpu_status) return h_err(err, d->gpu_status, "%s", d->gpu_msg);
    return HEARTH_OK;
}

void gpu_device_clear_error(gpu_device *d) {
    if (d->lost) return; /* a loss is permanent */
    d->gpu_status = 0;
    d->gpu_msg[0] = 0;
}

static void end_recording(gpu_device *d) {
    if (d->pass) {
        d->w.wgpuComputePassEncoderEnd(d->pass);
        d->w.wgpuComputePassEncoderRelease(d->pass);
        d->pass = NULL;
    }
    if (d->encoder) {
        d->w.wgpuCommandEncoderRelease(d->encoder);
        d->encoder = NULL;
    }
    d->ring_used = 0;
}

void gpu_device_force_loss(gpu_device *d) {
    if (d && d->device) d->w.wgpuDeviceDestroy(d->device);
}

void gpu_device_lose_after(gpu_device *d, uint64_t n) {
    if (d) d->lose_at = n ? d->n_dispatch + n : 0;
}

void gpu_device_free(gpu_device *d) {
    if (!d) return;
    if (d->tmp_rb) gpu_buffer_free(d->tmp_rb);
    if (d->lib && d->w.wgpuInstanceRelease) {
        end_recording(d);
        if (d->ring) {
            d->w.wgpuBufferDestroy(d->ring);
            d->w.wgpuBufferRelease(d->ring);
        }
        if (d->queue) d->w.wgpuQueueRelease(d->queue);
        d->closing = 1;
        if (d->device) {
            d->w.wgpuDeviceDestroy(d->device);
            d->w.wgpuDeviceRelease(d->device);
        }
        if (d->adapter) d->w.wgpuAdapterRelease(d->adapter);
        if (d->instance) {
            d->w.wgpuInstanceProcessEvents(d->instance); /* deliver pending callbacks now */
            d->w.wgpuInstanceRelease(d->instance);
        }
    }
    if (d->lib) dlclose(d->lib); /* RTLD_NODELETE: Dawn's threads never lose their code */
    h_free(d->ring_host);
    h_free(d);
}

/* ---- buffers ------------------------------------------------------------------------------ */

int gpu_buffer_create(gpu_device *d, gpu_buffer **out, uint64_t size, int usage, const char *label,
                      hearth_error *err) {
    *out = NULL;
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if (size == 0 || size > UINT64_MAX - 3)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: buffer '%s' of %llu bytes", label ? label : "",
                     (unsigned long long)size);
    size = (size + 3) & ~(uint64_t)3;
    if (size > d->info.max_buffer)
        return h_err(err, HEARTH_ERR_RANGE, "webgpu: buffer '%s' of %llu bytes exceeds the device's "
                     "maxBufferSize %llu", label ? label : "", (unsigned long long)size,
                     (unsigned long long)d->info.max_buffer);
    gpu_buffer *b = h_calloc(1, sizeof *b);
    if (!b) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    wg_buffer_desc bd;
    memset(&bd, 0, sizeof bd);
    bd.label = wstr(label);
    bd.usage = usage == GPU_READBACK ? (WG_USAGE_MAP_READ | WG_USAGE_COPY_DST)
                                     : (WG_USAGE_STORAGE | WG_USAGE_COPY_SRC | WG_USAGE_COPY_DST);
    bd.size = size;
    /* Out-of-memory is reported through an error scope so that it is this call that fails. */
    d->w.wgpuDevicePushErrorScope(d->device, WG_FILTER_OOM);
    b->buf = d->w.wgpuDeviceCreateBuffer(d->device, &bd);
    req_result r;
    memset(&r, 0, sizeof r);
    wg_pop_error_cbinfo pcb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_pop_error, &r, NULL};
    wg_future f = d->w.wgpuDevicePopErrorScope(d->device, pcb);
    if (wait_future(d, f, UINT64_MAX) != 0 || !b->buf || (r.status && r.status != WG_ERROR_NONE)) {
        int st = d->lost ? h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg)
                         : h_err(err, HEARTH_ERR_GPU, "webgpu: creating buffer '%s' of %llu bytes failed: %s",
                                 label ? label : "", (unsigned long long)size, r.msg);
        if (b->buf) d->w.wgpuBufferRelease(b->buf);
        h_free(b);
        return st;
    }
    b->d = d;
    b->size = size;
    b->usage = usage;
    *out = b;
    return HEARTH_OK;
}

void gpu_buffer_free(gpu_buffer *b) {
    if (!b) return;
    if (b->buf) {
        b->d->w.wgpuBufferDestroy(b->buf);
        b->d->w.wgpuBufferRelease(b->buf);
    }
    h_free(b);
}

uint64_t gpu_buffer_size(const gpu_buffer *b) { return b->size; }

int gpu_buffer_write(gpu_device *d, gpu_buffer *b, uint64_t offset, const void *data, size_t n,
                     hearth_error *err) {
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if ((offset & 3) || (n & 3) || offset > b->size || n > b->size - offset)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: write of %zu bytes at %llu into a buffer of %llu",
                     n, (unsigned long long)offset, (unsigned long long)b->size);
    if (n) d->w.wgpuQueueWriteBuffer(d->queue, b->buf, offset, data, n);
    return HEARTH_OK;
}

/* ---- kernels ------------------------------------------------------------------------------ */

/* Reads the group-0 bindings of a WGSL source: `@binding(N) var<uniform>` (N = 0 only) and
 * `@binding(N) var<storage[, read|read_write]>` (N = 1..n, contiguous). Comments are skipped. */
static int scan_bindings(const char *src, gpu_kernel *k, hearth_error *err) {
    int seen[GPU_MAX_BINDINGS + 1];
    uint32_t type[GPU_MAX_BINDINGS + 1];
    memset(seen, 0, sizeof seen);
    int max_b = -1;
    for (const char *s = src; *s;) {
        if (s[0] == '/' && s[1] == '/') {
            while (*s && *s != '\n') s++;
            continue;
        }
        if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
            continue;
        }
        if (strncmp(s, "@binding(", 9) != 0) {
            s++;
            continue;
        }
        s += 9;
        char *end;
        long b = strtol(s, &end, 10);
        if (end == s || b < 0 || b > GPU_MAX_BINDINGS)
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': binding number out of range 0..%d",
                         k->label, GPU_MAX_BINDINGS);
        const char *v = strstr(end, "var<");
        const char *semi = strchr(end, ';');
        if (!v || (semi && semi < v))
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': binding %ld is not a buffer", k->label, b);
        v += 4;
        uint32_t t;
        if (strncmp(v, "uniform>", 8) == 0) t = WG_BINDING_UNIFORM;
        else if (strncmp(v, "storage, read_write>", 20) == 0) t = WG_BINDING_STORAGE;
        else if (strncmp(v, "storage, read>", 14) == 0 || strncmp(v, "storage>", 8) == 0)
            t = WG_BINDING_READ_ONLY_STORAGE;
        else
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': binding %ld: unsupported "
                         "address space (write var<uniform>, var<storage, read> or read_write)", k->label, b);
        if (seen[b]) return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': binding %ld twice", k->label, b);
        if ((b == 0) != (t == WG_BINDING_UNIFORM))
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': binding 0 must be the only "
                         "var<uniform> (binding %ld)", k->label, b);
        seen[b] = 1;
        type[b] = t;
        if (b > max_b) max_b = (int)b;
        s = v;
    }
    k->has_params = seen[0];
    k->n_storage = 0;
    for (int b = 1; b <= max_b; b++) {
        if (!seen[b])
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s': storage bindings must be 1..%d "
                         "without gaps (%d missing)", k->label, max_b, b);
        k->slots[k->n_storage].binding = (uint32_t)b;
        k->slots[k->n_storage].type = type[b];
        k->n_storage++;
    }
    return HEARTH_OK;
}

int gpu_kernel_create(gpu_device *d, gpu_kernel **out, const char *label, const char *const *srcs,
                      int n_srcs, const gpu_const *consts, int n_consts, hearth_error *err) {
    *out = NULL;
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if (n_consts < 0 || n_consts > 32 || n_srcs < 1)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: kernel '%s': %d sources, %d constants", label, n_srcs, n_consts);
    size_t total = 1;
    for (int i = 0; i < n_srcs; i++) total += strlen(srcs[i]) + 1;
    char *src = h_malloc(total);
    gpu_kernel *k = h_calloc(1, sizeof *k);
    wg_obj module = NULL, playout = NULL;
    int st = HEARTH_OK;
    if (!src || !k) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        goto done;
    }
    size_t used = 0;
    for (int i = 0; i < n_srcs; i++) {
        size_t n = strlen(srcs[i]);
        memcpy(src + used, srcs[i], n);
        used += n;
        src[used++] = '\n';
    }
    src[used] = 0;
    k->d = d;
    snprintf(k->label, sizeof k->label, "%s", label ? label : "kernel");
    if ((st = scan_bindings(src, k, err))) goto done;
    if (k->n_storage > (int)d->info.max_storage_buffers_per_stage) {
        st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: kernel '%s' needs %d storage buffers; the device "
                   "allows %u", k->label, k->n_storage, d->info.max_storage_buffers_per_stage);
        goto done;
    }

    d->w.wgpuDevicePushErrorScope(d->device, WG_FILTER_VALIDATION);
    d->w.wgpuDevicePushErrorScope(d->device, WG_FILTER_INTERNAL);
    wg_shader_source_wgsl wgsl = {{NULL, WG_STYPE_SHADER_SOURCE_WGSL}, {src, used}};
    wg_shader_desc sd = {&wgsl.chain, wstr(k->label)};
    module = d->w.wgpuDeviceCreateShaderModule(d->device, &sd);

    wg_bgl_entry entries[GPU_MAX_BINDINGS + 1];
    memset(entries, 0, sizeof entries);
    int ne = 0;
    if (k->has_params) {
        entries[ne].binding = 0;
        entries[ne].visibility = WG_STAGE_COMPUTE;
        entries[ne].buffer.type = WG_BINDING_UNIFORM;
        entries[ne].buffer.has_dynamic_offset = 1;
        ne++;
    }
    for (int i = 0; i < k->n_storage; i++) {
        entries[ne].binding = k->slots[i].binding;
        entries[ne].visibility = WG_STAGE_COMPUTE;
        entries[ne].buffer.type = k->slots[i].type;
        ne++;
    }
    wg_bgl_desc bgld = {NULL, wstr(k->label), (size_t)ne, entries};
    k->bgl = d->w.wgpuDeviceCreateBindGroupLayout(d->device, &bgld);
    wg_pipeline_layout_desc pld;
    memset(&pld, 0, sizeof pld);
    pld.label = wstr(k->label);
    pld.bind_group_layout_count = 1;
    pld.bind_group_layouts = &k->bgl;
    playout = d->w.wgpuDeviceCreatePipelineLayout(d->device, &pld);

    wg_constant_entry ce[32];
    memset(ce, 0, sizeof ce);
    for (int i = 0; i < n_consts; i++) {
        ce[i].key = wstr(consts[i].name);
        ce[i].value = consts[i].value;
    }
    wg_compute_pipeline_desc cpd;
    memset(&cpd, 0, sizeof cpd);
    cpd.label = wstr(k->label);
    cpd.layout = playout;
    cpd.compute.module = module;
    cpd.compute.entry_point = wstr("main");
    cpd.compute.constant_count = (size_t)n_consts;
    cpd.compute.constants = n_consts ? ce : NULL;
    k->pipeline = d->w.wgpuDeviceCreateComputePipeline(d->device, &cpd);

    req_result r[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 2; i++) {
        wg_pop_error_cbinfo pcb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_pop_error, &r[i], NULL};
        wg_future f = d->w.wgpuDevicePopErrorScope(d->device, pcb);
        if (wait_future(d, f, UINT64_MAX) != 0) r[i].status = WG_ERROR_INTERNAL;
    }
    for (int i = 0; i < 2; i++) {
        if (r[i].status && r[i].status != WG_ERROR_NONE) {
            st = h_err(err, HEARTH_ERR_GPU, "webgpu: kernel '%s' failed to compile: %s", k->label, r[i].msg);
            goto done;
        }
    }
    if (d->lost) {
        st = h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
        goto done;
    }
    if (!k->pipeline || !k->bgl) {
        st = h_err(err, HEARTH_ERR_GPU, "webgpu: kernel '%s': pipeline creation failed", k->label);
        goto done;
    }
done:
    if (module) d->w.wgpuShaderModuleRelease(module);
    if (playout) d->w.wgpuPipelineLayoutRelease(playout);
    h_free(src);
    if (st) {
        gpu_kernel_free(k);
        return st;
    }
    *out = k;
    return HEARTH_OK;
}

void gpu_kernel_free(gpu_kernel *k) {
    if (!k) return;
    if (k->pipeline) k->d->w.wgpuComputePipelineRelease(k->pipeline);
    if (k->bgl) k->d->w.wgpuBindGroupLayoutRelease(k->bgl);
    h_free(k);
}

int gpu_kernel_n_bindings(const gpu_kernel *k) { return k->n_storage; }

int gpu_bindings_create(gpu_device *d, gpu_kernel *k, const gpu_bind *b, int n, gpu_bindings **out,
                        hearth_error *err) {
    *out = NULL;
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if (n != k->n_storage)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: kernel '%s' has %d storage bindings, %d given",
                     k->label, k->n_storage, n);
    wg_bg_entry e[GPU_MAX_BINDINGS + 1];
    memset(e, 0, sizeof e);
    int ne = 0;
    if (k->has_params) {
        e[ne].binding = 0;
        e[ne].buffer = d->ring;
        e[ne].offset = 0;
        e[ne].size = GPU_PARAMS_MAX;
        ne++;
    }
    for (int i = 0; i < n; i++) {
        const gpu_bind *bi = &b[i];
        if (!bi->buf || bi->buf->usage != GPU_STORAGE || bi->offset >= bi->buf->size ||
            (bi->offset % d->info.min_storage_offset_align) ||
            (bi->size && (bi->size > bi->buf->size - bi->offset || (bi->size & 3))))
            return h_err(err, HEARTH_ERR_ARG, "webgpu: kernel '%s' binding %u: bad buffer range "
                         "(offset %llu, size %llu)", k->label, k->slots[i].binding,
                         (unsigned long long)bi->offset, (unsigned long long)bi->size);
        uint64_t size = bi->size ? bi->size : bi->buf->size - bi->offset;
        if (size > d->info.max_storage_binding)
            return h_err(err, HEARTH_ERR_RANGE, "webgpu: kernel '%s' binding %u: %llu bytes exceed the "
                         "storage binding limit %llu", k->label, k->slots[i].binding,
                         (unsigned long long)size, (unsigned long long)d->info.max_storage_binding);
        e[ne].binding = k->slots[i].binding;
        e[ne].buffer = bi->buf->buf;
        e[ne].offset = bi->offset;
        e[ne].size = size;
        ne++;
    }
    gpu_bindings *g = h_calloc(1, sizeof *g);
    if (!g) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    wg_bg_desc bgd = {NULL, wstr(k->label), k->bgl, (size_t)ne, e};
    g->group = d->w.wgpuDeviceCreateBindGroup(d->device, &bgd);
    if (!g->group) {
        h_free(g);
        return h_err(err, HEARTH_ERR_GPU, "webgpu: kernel '%s': bind group creation failed", k->label);
    }
    g->k = k;
    *out = g;
    return HEARTH_OK;
}

void gpu_bindings_free(gpu_bindings *g) {
    if (!g) return;
    if (g->group) g->k->d->w.wgpuBindGroupRelease(g->group);
    h_free(g);
}

/* ---- recording ---------------------------------------------------------------------------- */

static void rec_fail(gpu_device *d, int status, const char *msg) {
    if (d->rec_status) return;
    d->rec_status = status;
    snprintf(d->rec_msg, sizeof d->rec_msg, "%s", msg);
}

static int ensure_encoder(gpu_device *d) {
    if (d->encoder) return 1;
    d->encoder = d->w.wgpuDeviceCreateCommandEncoder(d->device, NULL);
    if (!d->encoder) rec_fail(d, HEARTH_ERR_GPU, "webgpu: command encoder creation failed");
    return d->encoder != NULL;
}

static void end_pass(gpu_device *d) {
    if (!d->pass) return;
    d->w.wgpuComputePassEncoderEnd(d->pass);
    d->w.wgpuComputePassEncoderRelease(d->pass);
    d->pass = NULL;
}

static int submit_recorded(gpu_device *d) {
    end_pass(d);
    if (!d->encoder) return 0;
    if (d->ring_used) d->w.wgpuQueueWriteBuffer(d->queue, d->ring, 0, d->ring_host, (size_t)d->ring_used * d->ring_stride);
    wg_obj cb = d->w.wgpuCommandEncoderFinish(d->encoder, NULL);
    d->w.wgpuCommandEncoderRelease(d->encoder);
    d->encoder = NULL;
    d->ring_used = 0;
    if (!cb) return HEARTH_ERR_GPU;
    d->w.wgpuQueueSubmit(d->queue, 1, &cb);
    d->w.wgpuCommandBufferRelease(cb);
    return 0;
}

void gpu_dispatch(gpu_device *d, gpu_kernel *k, gpu_bindings *g, const void *params, size_t n,
                  uint32_t x, uint32_t y, uint32_t z) {
    if (d->lose_at && d->n_dispatch + 1 >= d->lose_at) {
        d->lose_at = 0;
        d->w.wgpuDeviceDestroy(d->device);
    }
    if (d->lost || d->rec_status) return;
    if (!g || g->k != k) {
        rec_fail(d, HEARTH_ERR_INTERNAL, "webgpu: dispatch with bindings of another kernel");
        return;
    }
    if (n > GPU_PARAMS_MAX) {
        rec_fail(d, HEARTH_ERR_INTERNAL, "webgpu: parameter block too large");
        return;
    }
    uint32_t lim = d->info.max_workgroups_per_dim;
    if (x == 0 || y == 0 || z == 0 || x > lim || y > lim || z > lim) {
        char m[160];
        snprintf(m, sizeof m, "webgpu: kernel '%s': dispatch (%u, %u, %u) outside 1..%u", k->label, x, y, z, lim);
        rec_fail(d, HEARTH_ERR_INTERNAL, m);
        return;
    }
    if (k->has_params && d->ring_used == RING_SLOTS) {
        if (submit_recorded(d)) {
            rec_fail(d, HEARTH_ERR_GPU, "webgpu: command buffer creation failed");
            return;
        }
    }
    if (!ensure_encoder(d)) return;
    if (!d->pass) {
        wg_pass_desc pd = {NULL, {NULL, 0}, NULL};
        d->pass = d->w.wgpuCommandEncoderBeginComputePass(d->encoder, &pd);
        if (!d->pass) {
            rec_fail(d, HEARTH_ERR_GPU, "webgpu: compute pass creation failed");
            return;
        }
    }
    d->w.wgpuComputePassEncoderSetPipeline(d->pass, k->pipeline);
    if (k->has_params) {
        uint32_t off = d->ring_used * d->ring_stride;
        uint8_t *slot = d->ring_host + off;
        if (n) memcpy(slot, params, n);
        if (n < GPU_PARAMS_MAX) memset(slot + n, 0, GPU_PARAMS_MAX - n);
        d->ring_used++;
        d->w.wgpuComputePassEncoderSetBindGroup(d->pass, 0, g->group, 1, &off);
    } else {
        d->w.wgpuComputePassEncoderSetBindGroup(d->pass, 0, g->group, 0, NULL);
    }
    d->w.wgpuComputePassEncoderDispatchWorkgroups(d->pass, x, y, z);
    d->n_dispatch++;
}

void gpu_copy(gpu_device *d, gpu_buffer *src, uint64_t src_off, gpu_buffer *dst, uint64_t dst_off,
              uint64_t n) {
    if (d->lost || d->rec_status) return;
    if ((src_off | dst_off | n) & 3 || src_off > src->size || n > src->size - src_off ||
        dst_off > dst->size || n > dst->size - dst_off) {
        rec_fail(d, HEARTH_ERR_INTERNAL, "webgpu: copy outside a buffer or misaligned");
        return;
    }
    end_pass(d);
    if (!ensure_encoder(d)) return;
    if (n) d->w.wgpuCommandEncoderCopyBufferToBuffer(d->encoder, src->buf, src_off, dst->buf, dst_off, n);
}

void gpu_clear(gpu_device *d, gpu_buffer *b, uint64_t offset, uint64_t n) {
    if (d->lost || d->rec_status) return;
    if ((offset | n) & 3 || offset > b->size || n > b->size - offset) {
        rec_fail(d, HEARTH_ERR_INTERNAL, "webgpu: clear outside a buffer or misaligned");
        return;
    }
    end_pass(d);
    if (!ensure_encoder(d)) return;
    if (n) d->w.wgpuCommandEncoderClearBuffer(d->encoder, b->buf, offset, n);
}

int gpu_submit(gpu_device *d, hearth_error *err) {
    if (d->lost) {
        end_recording(d);
        d->rec_status = 0;
        return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    }
    if (d->rec_status) {
        int st = d->rec_status;
        end_recording(d);
        d->rec_status = 0;
        return h_err(err, st, "%s", d->rec_msg);
    }
    if (submit_recorded(d)) return h_err(err, HEARTH_ERR_GPU, "webgpu: command buffer creation failed: %s", d->gpu_msg);
    if (d->gpu_status) return h_err(err, d->gpu_status, "%s", d->gpu_msg);
    return HEARTH_OK;
}

int gpu_finish(gpu_device *d, hearth_error *err) {
    int st = gpu_submit(d, err);
    if (st) return st;
    uint32_t status = 0;
    wg_work_done_cbinfo cb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_work_done, &status, NULL};
    wg_future f = d->w.wgpuQueueOnSubmittedWorkDone(d->queue, cb);
    if (wait_future(d, f, UINT64_MAX) != 0 || status != WG_WORK_DONE_SUCCESS) {
        if (d->gpu_status) return h_err(err, d->gpu_status, "%s", d->gpu_msg);
        return h_err(err, HEARTH_ERR_GPU, "webgpu: waiting for the queue failed (status %u)", status);
    }
    if (d->gpu_status) return h_err(err, d->gpu_status, "%s", d->gpu_msg);
    return HEARTH_OK;
}

uint64_t gpu_dispatch_count(const gpu_device *d) { return d->n_dispatch; }

/* ---- readback ----------------------------------------------------------------------------- */

int gpu_map_begin(gpu_device *d, gpu_buffer *b, uint64_t offset, size_t n, hearth_error *err) {
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if (b->usage != GPU_READBACK || b->map_state == 1 || b->map_state == 2 || (offset & 7) || (n & 3) ||
        offset > b->size || n > b->size - offset || n == 0)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: cannot map %zu bytes at %llu of a %llu-byte buffer "
                     "(state %d)", n, (unsigned long long)offset, (unsigned long long)b->size, b->map_state);
    b->map_state = 1;
    b->map_off = offset;
    b->map_len = n;
    b->map_msg[0] = 0;
    wg_map_cbinfo cb = {NULL, WG_CALLBACK_WAIT_ANY_ONLY, on_map, b, NULL};
    b->map_future = d->w.wgpuBufferMapAsync(b->buf, WG_MAP_READ, (size_t)offset, n, cb);
    return HEARTH_OK;
}

int gpu_map_poll(gpu_device *d, gpu_buffer *b, int wait, const void **ptr, hearth_error *err) {
    *ptr = NULL;
    if (b->map_state == 1) {
        int w = wait_future(d, b->map_future, wait ? UINT64_MAX : 0);
        if (w == HEARTH_ERR_AGAIN) return HEARTH_ERR_AGAIN;
        if (w != 0 && b->map_state == 1) b->map_state = 3;
    }
    if (b->map_state == 2) {
        *ptr = d->w.wgpuBufferGetConstMappedRange(b->buf, (size_t)b->map_off, b->map_len);
        if (*ptr) return HEARTH_OK;
        b->map_state = 3;
        snprintf(b->map_msg, sizeof b->map_msg, "mapped range unavailable");
    }
    if (d->lost) return h_err(err, HEARTH_ERR_DEVICE_LOST, "%s", d->gpu_msg);
    if (b->map_state == 3) {
        b->map_state = 0;
        return h_err(err, HEARTH_ERR_GPU, "webgpu: mapping a readback buffer failed: %s", b->map_msg);
    }
    return h_err(err, HEARTH_ERR_ARG, "webgpu: buffer is not being mapped");
}

void gpu_map_end(gpu_buffer *b) {
    if (!b) return;
    if (b->map_state == 2) b->d->w.wgpuBufferUnmap(b->buf);
    if (b->map_state != 1) b->map_state = 0;
}

int gpu_read(gpu_device *d, gpu_buffer *b, uint64_t offset, void *dst, size_t n, hearth_error *err) {
    int st;
    if (n == 0) return HEARTH_OK;
    size_t n4 = (n + 3) & ~(size_t)3;
    if ((offset & 3) || offset > b->size || n4 > b->size - offset)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: read of %zu bytes at %llu from a %llu-byte buffer", n,
                     (unsigned long long)offset, (unsigned long long)b->size);
    if (!d->tmp_rb || d->tmp_rb->size < n4) {
        gpu_buffer_free(d->tmp_rb);
        d->tmp_rb = NULL;
        if ((st = gpu_buffer_create(d, &d->tmp_rb, H_MAX(n4, (size_t)65536), GPU_READBACK, "readback", err)))
            return st;
    }
    gpu_copy(d, b, offset, d->tmp_rb, 0, n4);
    if ((st = gpu_submit(d, err))) return st;
    if ((st = gpu_map_begin(d, d->tmp_rb, 0, n4, err))) return st;
    const void *p;
    if ((st = gpu_map_poll(d, d->tmp_rb, 1, &p, err))) return st;
    memcpy(dst, p, n);
    gpu_map_end(d->tmp_rb);
    return HEARTH_OK;
}
