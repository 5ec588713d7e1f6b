/* The cancellation matrix, table-driven like Tokio's task_combinations:
 * every action {complete, fail, cancel, drop, join, destroy} at every
 * moment {before the first poll, while pending, while being polled on
 * another thread, after completion}. In every cell the state is dropped
 * exactly once, the status / join result is the right one, and nothing
 * leaks (valgrind/ASan runs of this binary check the last part). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"

enum action { COMPLETE, FAIL, CANCEL, DROP, JOIN, DESTROY, ACTIONS };
enum moment { BEFORE_POLL, PENDING, DURING_POLL, AFTER_DONE, MOMENTS };

static const char *action_name[] = {"complete", "fail", "cancel", "drop", "join", "destroy"};
static const char *moment_name[] = {"before-first-poll", "while-pending",
                                    "while-polled-elsewhere", "after-completion"};

/* ---- the task under test ---- */

typedef struct subject {
  atomic_int drops;
  atomic_int polls;
  atomic_int finish;   /* 1: next poll completes (or fails) */
  atomic_int in_poll;  /* set while the first poll waits for the action */
  atomic_int acted;    /* the action happened (DURING_POLL) */
  atomic_int first_returned; /* poll 1 has decided its result */
  int fail;            /* finish with an invalid poll value */
  int hold_first_poll; /* DURING_POLL: wait for the action inside poll 1 */
  pthread_t main_thread; /* the test's thread */
  atomic_int on_main;  /* poll 1 runs there: inside block_on*, driving */
  zyntax_waker waker;  /* a clone, so the test can wake it */
  atomic_int has_waker;
} subject;

static zyntax_poll subject_poll(void *state, const zyntax_waker *waker) {
  subject *s = state;
  int n = atomic_fetch_add(&s->polls, 1) + 1;
  if (!atomic_load(&s->has_waker)) {
    s->waker = zyntax_waker_clone(waker);
    atomic_store(&s->has_waker, 1);
  }
  if (n == 1 && s->hold_first_poll) {
    if (pthread_equal(pthread_self(), s->main_thread)) atomic_store(&s->on_main, 1);
    atomic_store(&s->in_poll, 1);
    while (!atomic_load(&s->acted)) { /* the other thread acts now */
    }
  }
  zyntax_poll r = !atomic_load(&s->finish) ? ZYNTAX_PENDING
                 : s->fail                   ? (zyntax_poll)7
                                             : ZYNTAX_READY;
  if (n == 1) atomic_store(&s->first_returned, 1);
  return r;
}

static void subject_drop(void *state) { atomic_fetch_add(&((subject *)state)->drops, 1); }

static const zyntax_future_vtable subject_vt = {subject_poll, subject_drop};

/* ---- driving helpers ---- */

typedef struct joiner {
  zyntax_future *join;
  int result;
} joiner;

static zyntax_poll joiner_poll(void *state, const zyntax_waker *waker) {
  joiner *j = state;
  if (zyntax_future_poll(j->join, waker, &j->result) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  return ZYNTAX_READY;
}

/* ---- one cell ---- */

typedef struct cell {
  enum action action;
  enum moment moment;
  zyntax_runtime *rt;
  zyntax_task *task;
  subject s;
  int handle_live, rt_live;
  zyntax_future *join;
  int destroy_rc;
  atomic_int driving; /* the main thread is inside block_on_future */
} cell;

static void let_finish(cell *c) {
  atomic_store(&c->s.finish, 1);
  if (atomic_load(&c->s.has_waker)) zyntax_waker_wake_by_ref(&c->s.waker);
}

/* The action itself. */
static void act(cell *c) {
  switch (c->action) {
  case COMPLETE:
  case FAIL:
    let_finish(c);
    break;
  case CANCEL: {
    int rc = zyntax_task_cancel(c->task);
    assert_int_equal(rc, c->moment == AFTER_DONE ? ZYNTAX_EFINISHED : 0);
    break;
  }
  case DROP:
    zyntax_task_drop(c->task);
    c->handle_live = 0;
    break;
  case JOIN:
    assert_int_equal(zyntax_task_join_future(c->task, &c->join), 0);
    break;
  case DESTROY:
    c->destroy_rc = zyntax_runtime_destroy(c->rt);
    if (c->destroy_rc == 0) c->rt_live = 0;
    break;
  default:
    break;
  }
}

static void *act_when_polled(void *arg) {
  cell *c = arg;
  /* On tokio a worker may poll before the main thread drives; the action
   * must happen while it does (destroy then returns EBUSY, as on uv/ev).
   * A poll on the main thread itself is inside block_on*: it drives, even
   * before the root future that marks it was polled (sim may poll that
   * one second). */
  while (!atomic_load(&c->s.in_poll) ||
         !(atomic_load(&c->driving) || atomic_load(&c->s.on_main))) {
  }
  act(c);
  atomic_store(&c->s.acted, 1);
  return NULL;
}

/* The outcome the task must end with. */
static int expected_outcome(const cell *c) {
  if (c->action == CANCEL && c->moment != AFTER_DONE) return ZYNTAX_ECANCELED;
  if (c->action == DESTROY && c->moment != AFTER_DONE && c->destroy_rc == 0)
    return ZYNTAX_ECANCELED;
  return c->action == FAIL ? ZYNTAX_EBADPOLL : 0;
}

static void run_cell(enum action action, enum moment moment) {
  cell *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->action = action;
  c->moment = moment;
  c->s.fail = action == FAIL;
  c->s.hold_first_poll = moment == DURING_POLL;
  c->s.main_thread = pthread_self();
  c->rt = test_runtime();
  c->rt_live = c->handle_live = 1;
  assert_int_equal(zyntax_runtime_spawn_future(c->rt, &c->s, &subject_vt, &c->task), 0);

  pthread_t other;
  switch (moment) {
  case BEFORE_POLL:
    act(c);
    break;
  case PENDING:
    drive_until(c->rt, &c->s.polls, 1);
    act(c);
    break;
  case DURING_POLL:
    pthread_create(&other, NULL, act_when_polled, c);
    drive_until_marking(c->rt, &c->s.acted, 1, &c->driving);
    /* Where the poll ran on a worker (tokio), it may still be running:
     * letting the task finish now would race the action. */
    drive_until(c->rt, &c->s.first_returned, 1);
    pthread_join(other, NULL);
    break;
  case AFTER_DONE:
    let_finish(c);
    assert_int_not_equal(zyntax_runtime_block_on(c->rt, c->task), ZYNTAX_NOT_FINISHED);
    act(c);
    break;
  default:
    break;
  }

  /* Finish: let the task complete, run to the end, join, then tear down. */
  if (c->rt_live) {
    let_finish(c);
    if (c->join != NULL) {
      joiner j = {c->join, ZYNTAX_NOT_FINISHED};
      assert_int_equal(zyntax_runtime_block_on_future(c->rt, &j, joiner_poll), 0);
      assert_int_equal(j.result, expected_outcome(c));
    }
    assert_int_equal(zyntax_runtime_run(c->rt), 0);
  }
  if (c->handle_live && zyntax_task_status(c->task) != expected_outcome(c))
    fail_msg("%s %s: status %d, expected %d (destroy %d)", action_name[action],
             moment_name[moment], zyntax_task_status(c->task), expected_outcome(c),
             c->destroy_rc);
  if (c->rt_live) assert_int_equal(zyntax_runtime_destroy(c->rt), 0);
  zyntax_future_drop(c->join); /* after destroy: still safe */
  if (c->handle_live) zyntax_task_drop(c->task);
  zyntax_waker_drop(&c->s.waker);
  if (atomic_load(&c->s.drops) != 1)
    fail_msg("%s %s: state dropped %d times", action_name[action], moment_name[moment],
             atomic_load(&c->s.drops));
  free(c);
}

static void every_cell(void **state) {
  (void)state;
  int cells = 0;
  for (int a = 0; a < ACTIONS; a++)
    for (int m = 0; m < MOMENTS; m++) {
      run_cell((enum action)a, (enum moment)m);
      cells++;
    }
  print_message("%d cells, each: drop exactly once, right outcome\n", cells);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(every_cell)};
  return cmocka_run_group_tests_name("cancellation-matrix", tests, NULL, NULL);
}
