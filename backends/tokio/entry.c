/* The Tokio backend's C shim: the zyntax_backend table over the Rust
 * static library (src/), and the only symbol the plugin exports. The
 * versioned C structs are read and written here, so the Rust side sees
 * only plain values. Compiled twice, like every backend's entry: as the
 * plugin's zyntax_backend_entry and as zyntax_static_backend_tokio. */
#include <string.h>

#include "sized.h"
#include "zyntax/backend.h"

/* The Rust side (src/lib.rs). `b` is its runtime. */
int zxt_runtime_new(zyntax_runtime *rt, void (*enter)(zyntax_runtime *), void (*leave)(void),
                    int single_threaded, uint32_t workers, uint32_t blocking_threads,
                    zyntax_backend_runtime **out, char *message, size_t message_len);
void zxt_runtime_destroy(zyntax_backend_runtime *b);
int zxt_spawn(zyntax_backend_runtime *b, zyntax_poll_fn poll, zyntax_drop_fn drop, void *state,
              size_t inplace_size, size_t inplace_align, zyntax_state_init_fn init,
              void *init_arg, zyntax_task **out);
int zxt_block_on(zyntax_backend_runtime *b, zyntax_task *task);
int zxt_block_on_future(zyntax_backend_runtime *b, void *state, zyntax_poll_fn poll);
int zxt_run(zyntax_backend_runtime *b);
void zxt_stats(const zyntax_backend_runtime *b, uint64_t out[9]);
int zxt_sleep_until(zyntax_backend_runtime *b, uint64_t deadline_ns, zyntax_future **out);
int zxt_fd_wait(zyntax_backend_runtime *b, int fd, unsigned events, zyntax_future **out);
int zxt_blocking(zyntax_backend_runtime *b, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out);

#ifndef TOKIO_VERSION
#error TOKIO_VERSION comes from Cargo.lock (CMakeLists.txt)
#endif

/* One worker, or the flag, gives Tokio's current-thread scheduler. */
static int tkb_create(const zyntax_backend_host *host, const zyntax_runtime_options *opts,
                      zyntax_backend_runtime **out, zyntax_error *err) {
  int single = (opts->flags & ZYNTAX_RUNTIME_SINGLE_THREADED) || opts->worker_threads == 1;
  return zxt_runtime_new(host->runtime, host->enter_thread, host->leave_thread, single,
                         opts->worker_threads, opts->blocking_threads, out, err->message,
                         sizeof err->message);
}

static int tkb_spawn(zyntax_backend_runtime *b, const zyntax_spawn_args *args,
                     zyntax_task **out) {
  return zxt_spawn(b, args->poll, args->drop, args->state, args->inplace_size,
                   args->inplace_align, args->init, args->init_arg, out);
}

static void tkb_stats(const zyntax_backend_runtime *b, zyntax_stats *out) {
  uint64_t c[9];
  zxt_stats(b, c);
  zyntax_stats all = {sizeof all, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]};
  zx_sized_copy(out, &all, ZX_STATS_SIZE_1_0);
}

static const zyntax_backend tkb_table = {
    .abi_major = ZYNTAX_BACKEND_ABI_MAJOR,
    .abi_minor = ZYNTAX_BACKEND_ABI_MINOR,
    .size = sizeof(zyntax_backend),
    .name = "tokio",
    .version = TOKIO_VERSION,
    .runtime_create = tkb_create,
    .runtime_destroy = zxt_runtime_destroy,
    .spawn = tkb_spawn,
    .block_on = zxt_block_on,
    .block_on_future = zxt_block_on_future,
    .run = zxt_run,
    .stats = tkb_stats,
    .sleep_until = zxt_sleep_until,
    .fd_wait = zxt_fd_wait,
    .blocking = zxt_blocking,
};

__attribute__((visibility(ZYNTAX_STRINGIFY(ZYNTAX_BACKEND_ENTRY_VISIBILITY))))
const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void);

const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void) { return &tkb_table; }
