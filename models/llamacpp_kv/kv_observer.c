/* Per-token K and V norms observed in llama.cpp's cb_eval, without entering Python per graph node.

   Compiled at first use (models/llamacpp_kv/native.py). The ggml_tensor layout below is copied from
   ggml/include/ggml.h of llama-cpp-python 0.3.36; it is checked at run time against ggml_get_name and
   ggml_get_data on the first node seen, and observation switches itself off if they disagree. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ggml_tensor {
    int type;
    void *buffer;
    int64_t ne[4];
    size_t nb[4];
    int op;
    int32_t op_params[16];
    int32_t flags;
    struct ggml_tensor *src[10];
    struct ggml_tensor *view_src;
    size_t view_offs;
    void *data;
    char name[64];
    void *extra;
    char padding[8];
};

typedef const char *(*get_name_fn)(const struct ggml_tensor *);
typedef void *(*get_data_fn)(const struct ggml_tensor *);
typedef bool (*is_host_fn)(void *buffer);
typedef void (*tensor_get_fn)(const struct ggml_tensor *, void *, size_t, size_t);
typedef const char *(*op_name_fn)(int op);

typedef struct {
    int32_t n_layer, n_head, cap;   /* norms are stored as [n_layer][n_head][cap] */
    int32_t enabled, layout;        /* layout: 0 unchecked, 1 verified, -1 mismatch (observation off) */
    int32_t base, cur_n, last_il, n_obs;
    int64_t nodes;                  /* observed nodes since configure, for tests */
    float *k, *v;
    uint8_t *seen;                  /* [2][n_layer]: which layers delivered K and V in this call */
    float *scratch;
    size_t scratch_cap;
    get_name_fn get_name;
    get_data_fn get_data;
    is_host_fn is_host;
    tensor_get_fn tensor_get;
    op_name_fn op_name;
} kv_obs;

size_t kv_obs_tensor_size(void) { return sizeof(struct ggml_tensor); }

kv_obs *kv_obs_new(void) { return (kv_obs *)calloc(1, sizeof(kv_obs)); }

void kv_obs_free(kv_obs *o) {
    if (!o) return;
    free(o->k);
    free(o->v);
    free(o->seen);
    free(o->scratch);
    free(o);
}

int kv_obs_configure(kv_obs *o, int n_layer, int n_head, int cap, void *get_name, void *get_data,
                     void *is_host, void *tensor_get, void *op_name) {
    free(o->k);
    free(o->v);
    free(o->seen);
    o->k = (float *)calloc((size_t)n_layer * n_head * cap, sizeof(float));
    o->v = (float *)calloc((size_t)n_layer * n_head * cap, sizeof(float));
    o->seen = (uint8_t *)calloc((size_t)2 * n_layer, 1);
    if (!o->k || !o->v || !o->seen) return -1;
    o->n_layer = n_layer;
    o->n_head = n_head;
    o->cap = cap;
    o->get_name = (get_name_fn)get_name;
    o->get_data = (get_data_fn)get_data;
    o->is_host = (is_host_fn)is_host;
    o->tensor_get = (tensor_get_fn)tensor_get;
    o->op_name = (op_name_fn)op_name;
    o->enabled = 1;
    return 0;
}

/* Called before each llama_decode: token rows restart at 0. */
void kv_obs_begin(kv_obs *o) {
    o->base = 0;
    o->cur_n = 0;
    o->last_il = -1;
    o->n_obs = 0;
    if (o->seen) memset(o->seen, 0, (size_t)2 * o->n_layer);
}

void kv_obs_set_enabled(kv_obs *o, int on) { o->enabled = on && o->k != NULL && o->layout >= 0; }
float *kv_obs_k(kv_obs *o) { return o->k; }
float *kv_obs_v(kv_obs *o) { return o->v; }
int kv_obs_n_obs(kv_obs *o) { return o->n_obs; }
int kv_obs_layout(kv_obs *o) { return o->layout; }
int64_t kv_obs_nodes(kv_obs *o) { return o->nodes; }

int kv_obs_layers_seen(kv_obs *o) {
    int n = 0;
    for (int i = 0; i < 2 * o->n_layer; i++) n += o->seen[i] != 0;
    return n;
}

/* 0 = not ours, 1 = K (ROPE output: what the cache stores), 2 = V. Names repeat across ops, and
   op enum values move between ggml versions, so the op is compared by name (ggml_op_name). */
static int kind_of(const kv_obs *o, const struct ggml_tensor *t) {
    if (t->type != 0) return 0; /* GGML_TYPE_F32 */
    if (strncmp(t->name, "Kcur-", 5) == 0) return strcmp(o->op_name(t->op), "ROPE") == 0 ? 1 : 0;
    if (strncmp(t->name, "Vcur-", 5) == 0) return strcmp(o->op_name(t->op), "RESHAPE") == 0 ? 2 : 0;
    return 0;
}

static int check_layout(kv_obs *o, const struct ggml_tensor *t) {
    const char *name = o->get_name(t);
    int ok = name == t->name && o->get_data(t) == t->data;
    o->layout = ok ? 1 : -1;
    if (!ok) o->enabled = 0;
    return ok;
}

static void observe(kv_obs *o, const struct ggml_tensor *t, int kind) {
    int il = atoi(t->name + 5);
    int64_t dim = t->ne[0], heads = t->ne[1], n = t->ne[2];
    if (il < 0 || il >= o->n_layer || heads != o->n_head || t->ne[3] != 1) return;
    if (il < o->last_il) o->base += o->cur_n; /* layer index went back: the next ubatch */
    o->last_il = il;
    o->cur_n = (int32_t)n;
    const char *data = (const char *)t->data;
    size_t nb1 = t->nb[1], nb2 = t->nb[2];
    if (!o->is_host(t->buffer)) { /* device memory: copy the (contiguous) rows out first */
        size_t bytes = (size_t)(dim * heads * n) * sizeof(float);
        if (bytes > o->scratch_cap) {
            free(o->scratch);
            o->scratch = (float *)malloc(bytes);
            o->scratch_cap = o->scratch ? bytes : 0;
            if (!o->scratch) return;
        }
        o->tensor_get(t, o->scratch, 0, bytes);
        data = (const char *)o->scratch;
        nb1 = (size_t)dim * sizeof(float);
        nb2 = nb1 * (size_t)heads;
    }
    float *out = kind == 1 ? o->k : o->v;
    for (int64_t j = 0; j < n; j++) {
        int64_t row = o->base + j;
        if (row >= o->cap) break;
        for (int64_t h = 0; h < heads; h++) {
            const float *x = (const float *)(data + h * nb1 + j * nb2);
            double acc = 0.0;
            for (int64_t d = 0; d < dim; d++) acc += (double)x[d] * x[d];
            out[((size_t)il * o->n_head + h) * o->cap + row] = (float)sqrt(acc);
        }
    }
    if (o->base + n > o->n_obs) o->n_obs = (int32_t)(o->base + n);
    o->seen[(kind - 1) * o->n_layer + il] = 1;
    o->nodes++;
}

/* ggml_backend_sched_eval_callback. Must return true: false at ask=false aborts the graph silently. */
bool kv_obs_callback(struct ggml_tensor *t, bool ask, void *user_data) {
    kv_obs *o = (kv_obs *)user_data;
    if (!o || !o->enabled) return !ask; /* observe nothing, never abort */
    if (o->layout == 0 && !check_layout(o, t)) return !ask;
    int kind = kind_of(o, t);
    if (ask) return kind != 0;
    if (kind) observe(o, t, kind);
    return true;
}
