/* zyntax-jit: generates the state structs and poll functions of four async
 * fns with libgccjit at run time, then runs them through the public API on
 * the backend ZYNTAX_RUNTIME names and checks every result.
 *
 *   zyntax-jit            run the four workloads (exit 0 = all correct)
 *   zyntax-jit --bench    also time the loop: hand-written vs generated
 *   zyntax-jit --dump F   write the generated code (libgccjit's C-like
 *                         dump) to F, for reading; see docs/compiler-guide.md */
#include <stdio.h>
#include <string.h>

#include "jit.h"
#include "jit_run.h"

/* Both views of every layout must agree (see jit_layout.h). */
static int check_layouts(gcc_jit_result *r) {
  static const struct {
    const char *fn;
    size_t host;
  } sizes[] = {{"zjit_loop_sizeof", sizeof(zjit_loop_state)},
               {"zjit_child_sizeof", sizeof(zjit_child_state)},
               {"zjit_join_sizeof", sizeof(zjit_join_state)},
               {"zjit_closure_sizeof", sizeof(zjit_closure_state)},
               {"zjit_fetch_sizeof", sizeof(zjit_fetch_state)}};
  int bad = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t (*gen)(void) = (size_t(*)(void))gcc_jit_result_get_code(r, sizes[i].fn);
    size_t got = gen != NULL ? gen() : 0;
    if (got != sizes[i].host) {
      fprintf(stderr, "zyntax-jit: %s = %zu, host sizeof = %zu\n", sizes[i].fn, got, sizes[i].host);
      bad = 1;
    }
  }
  return bad;
}

static zyntax_future_vtable vtable(gcc_jit_result *r, const char *poll, const char *drop) {
  zyntax_future_vtable vt = {(zyntax_poll_fn)gcc_jit_result_get_code(r, poll),
                             (zyntax_drop_fn)gcc_jit_result_get_code(r, drop)};
  return vt;
}

static gcc_jit_result *generate(zjit_program *p, const char *dump) {
  zjit j;
  if (zjit_init(&j, 2) != 0) return NULL;
  zjit_gen_fetch(&j);
  zjit_gen_loop(&j);
  zjit_gen_spawn(&j);
  zjit_gen_closure(&j);
  if (dump != NULL) gcc_jit_context_dump_to_file(j.ctx, dump, 0);
  gcc_jit_result *r = zjit_compile(&j);
  zjit_fini(&j); /* the result outlives its context */
  if (r == NULL) return NULL;
  p->fetch = vtable(r, "zjit_fetch_poll", "zjit_fetch_drop");
  p->loop = vtable(r, "zjit_loop_poll", "zjit_loop_drop");
  p->join = vtable(r, "zjit_join_poll", "zjit_join_drop");
  p->closure = vtable(r, "zjit_closure_poll", "zjit_closure_drop");
  if (check_layouts(r) != 0) {
    gcc_jit_result_release(r);
    return NULL;
  }
  return r;
}

static int run_all(zyntax_runtime *rt, const zjit_program *p, int bench) {
  int failed = zjit_run_fetch(rt, p);
  failed |= zjit_run_loop(rt, p);
  failed |= zjit_run_spawn(rt, p);
  failed |= zjit_run_closure(rt, p);
  if (bench) failed |= zjit_bench_loop(rt, p, 7);
  return failed;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* a hung test still shows how far it got */
  int bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
  const char *dump = argc > 2 && strcmp(argv[1], "--dump") == 0 ? argv[2] : NULL;
  zjit_program p;
  gcc_jit_result *code = generate(&p, dump);
  if (code == NULL) return 1;
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "zyntax-jit: %s\n", zyntax_last_error()->message);
    gcc_jit_result_release(code);
    return 1;
  }
  printf("backend: %s %s\n", zyntax_runtime_backend_name(rt), zyntax_runtime_backend_version(rt));
  int failed = run_all(rt, &p, bench);
  int rc = zyntax_runtime_destroy(rt);
  gcc_jit_result_release(code); /* no generated code may run after this */
  printf("%s\n", failed || rc != 0 ? "FAILED" : "all JIT workloads passed");
  return failed || rc != 0;
}
