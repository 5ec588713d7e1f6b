/* The state structs of the generated async fns, as the host sees them.
 * A compiler computes one layout and uses it on both sides; here the
 * generators (gen_*.c) declare the same fields in the same order through
 * libgccjit, and main.c checks every size against a generated sizeof at
 * start-up, so a drift between the two views fails loudly. */
#ifndef ZYNTAX_EXAMPLES_JIT_LAYOUT_H
#define ZYNTAX_EXAMPLES_JIT_LAYOUT_H

#include <stdint.h>

#include <zyntax/runtime.h>

/* for i in 0..n { sleep(delay).await; acc += i }  (delay 0: yield) */
typedef struct zjit_loop_state {
  uint32_t state_id;
  int64_t n, i, acc;
  uint64_t delay_ns;    /* 0: the await wakes itself (a yield, no timer) */
  zyntax_future *sleep; /* live while awaiting */
} zjit_loop_state;

/* async fn child(k) -> i64 { sleep(k * 100us).await; k * k + 1 } */
typedef struct zjit_child_state {
  uint32_t state_id;
  int64_t k, result;
  zyntax_future *sleep;
} zjit_child_state;

#define ZJIT_MAX_CHILDREN 8

/* async fn parent(n) -> i64 { spawn child(0..n); sum of joins } */
typedef struct zjit_join_state {
  uint32_t state_id;
  int32_t error; /* 0, or the first child's failed outcome */
  int64_t n, i, acc;
  zyntax_future *join; /* the join future of tasks[i], while awaiting */
  zyntax_task *tasks[ZJIT_MAX_CHILDREN];
} zjit_join_state;

/* let c = async move |x| { sleep(delay).await; strlen(name) + x };
 * `name` is captured by move (owned), `drops` counts how often the captured
 * environment is dropped - the test's probe for "exactly once". */
typedef struct zjit_closure_state {
  uint32_t state_id;
  int64_t x;
  char *name;
  int64_t *drops;
  uint64_t delay_ns;
  zyntax_future *sleep;
  int64_t result;
} zjit_closure_state;

/* fetch_data(url): http_get(url).await, then read_body(response).await */
typedef struct zjit_response {
  int32_t fd; /* owned: the open connection */
  int64_t len, body_at, body_length;
  char head[2048];
} zjit_response;

typedef struct zjit_http_get_state {
  uint32_t state_id;
  int32_t error; /* errno value (> 0) or ZYNTAX_E* (< 0) */
  const char *url;
  zyntax_future *ready;
  int64_t request_len, sent;
  char request[256];
  zjit_response out;
} zjit_http_get_state;

typedef struct zjit_read_body_state {
  uint32_t state_id;
  int32_t error;
  zyntax_future *ready;
  char *body; /* owned until moved out */
  int64_t got;
  zjit_response in; /* moved in */
} zjit_read_body_state;

typedef struct zjit_fetch_state {
  uint32_t state_id;
  int32_t error;
  const char *url;
  char *body; /* the result, owned: freed by the drop */
  union {
    zjit_http_get_state get;
    zjit_read_body_state read;
  } await;
} zjit_fetch_state;

#endif
