/* The Markdown table on stdout and the --json file. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "run.h"

static const char *unit_of(const char *workload) {
  return zh_uses_cpu_time(workload) ? "CPU ns/op" : "ns/op";
}

/* "123.4 (120.1-130.9)" or the reason there is no number. */
static void cell(const zh_series *s, char *buf, size_t size) {
  zh_summary sum;
  if (s == NULL) snprintf(buf, size, "-");
  else if (s->status == ZH_NOT_OFFERED) snprintf(buf, size, "n/a");
  else if (s->status == ZH_NOT_BUILT) snprintf(buf, size, "not built");
  else if (zh_summarize(s, &sum) != 0) snprintf(buf, size, "FAILED");
  else snprintf(buf, size, "%.1f (%.1f-%.1f)", sum.median, sum.min, sum.max);
}

static void ratio(const zh_series *a, const zh_series *b, char *buf, size_t size) {
  zh_summary x, y;
  if (a && b && zh_summarize(a, &x) == 0 && zh_summarize(b, &y) == 0 && y.median > 0)
    snprintf(buf, size, "**%.2f**", x.median / y.median);
  else
    snprintf(buf, size, "-");
}

static void print_header(const zh_options *opt) {
  printf("| workload | unit |");
  for (size_t b = 0; b < opt->backend_count; b++)
    printf(" zyntax-on-%s | native %s | ratio |", opt->backends[b], opt->backends[b]);
  printf("\n| --- | --- |");
  for (size_t b = 0; b < opt->backend_count; b++) printf(" ---: | ---: | ---: |");
  printf("\n");
}

static void print_main_table(const zh_options *opt, const zh_series *all, size_t n) {
  char a[64], b[64], r[32];
  print_header(opt);
  for (size_t w = 0; w < opt->workload_count; w++) {
    const char *name = opt->workloads[w];
    printf("| %s | %s |", name, unit_of(name));
    for (size_t k = 0; k < opt->backend_count; k++) {
      const zh_series *z = zh_find(all, n, name, opt->backends[k], ZH_ZYNTAX);
      const zh_series *nat = zh_find(all, n, name, opt->backends[k], ZH_NATIVE);
      cell(z, a, sizeof a);
      cell(nat, b, sizeof b);
      ratio(z, nat, r, sizeof r);
      printf(" %s | %s | %s |", a, b, r);
    }
    printf("\n");
  }
  const zh_series *direct = zh_find(all, n, "dispatch", "", ZH_DIRECT);
  if (direct) {
    cell(direct, a, sizeof a);
    printf("\nDirect call of the same poll function through a function pointer "
           "(no runtime): %s ns/poll.\n", a);
  }
}

/* The table has a heading only once a row exists: a run without tcp_echo
 * (--workloads) prints none. */
static void print_latency_table(const zh_options *opt, const zh_series *all, size_t n) {
  int rows = 0;
  for (size_t k = 0; k < opt->backend_count; k++)
    for (int native = 0; native < 2; native++) {
      const zh_series *s = zh_find(all, n, "tcp_echo", opt->backends[k],
                                   native ? ZH_NATIVE : ZH_ZYNTAX);
      zh_summary sum;
      if (s == NULL || zh_summarize(s, &sum) != 0) continue;
      if (rows++ == 0)
        printf("\ntcp_echo latency and throughput (medians over the repetitions):\n\n"
               "| implementation | requests/s | p50 us | p99 us |\n| --- | ---: | ---: | ---: |\n");
      printf("| %s %s | %.0f | %.1f | %.1f |\n", native ? "native" : "zyntax-on",
             opt->backends[k], sum.ops_per_sec, sum.p50 / 1e3, sum.p99 / 1e3);
    }
}

/* --syscalls / --allocs: one value per implementation and workload. */
static void print_counts(const zh_options *opt, const zh_series *all, size_t n,
                         const char *title, int allocs) {
  printf("\n%s per operation (a run of 4 repetitions minus a run of 1, over 3 x ops):\n\n"
         "| workload |", title);
  for (size_t k = 0; k < opt->backend_count; k++)
    printf(" zyntax-on-%s | native %s |", opt->backends[k], opt->backends[k]);
  printf("\n| --- |");
  for (size_t k = 0; k < opt->backend_count; k++) printf(" ---: | ---: |");
  printf("\n");
  for (size_t w = 0; w < opt->workload_count; w++) {
    printf("| %s |", opt->workloads[w]);
    for (size_t k = 0; k < opt->backend_count; k++) {
      double v[2];
      for (int native = 0; native < 2; native++) {
        const zh_series *s = zh_find(all, n, opt->workloads[w], opt->backends[k],
                                     native ? ZH_NATIVE : ZH_ZYNTAX);
        v[native] = s == NULL ? NAN : allocs ? s->allocs_per_op : s->syscalls_per_op;
      }
      for (int native = 0; native < 2; native++)
        isnan(v[native]) ? printf(" - |") : printf(" %.3f |", v[native]);
    }
    printf("\n");
  }
}

void zh_print_markdown(const zh_options *opt, const zh_series *all, size_t n) {
  char machine[1024];
  zh_machine(machine, sizeof machine);
  printf("## zyntax-bench\n\n%s\n\n%u process%s x %u repetitions after a warm-up%s; "
         "median (min-max) of all; ratio = zyntax-on-X / native X (lower is better, 1.00 = "
         "same cost).\n\n",
         machine, opt->procs, opt->procs == 1 ? "" : "es", opt->reps,
         opt->quick ? ", --quick sizes" : "");
  print_main_table(opt, all, n);
  print_latency_table(opt, all, n);
  if (opt->syscalls) print_counts(opt, all, n, "System calls", 0);
  if (opt->allocs) print_counts(opt, all, n, "Allocations", 1);
  fflush(stdout);
}

static const char *kind_name(zh_kind kind) {
  return kind == ZH_ZYNTAX ? "zyntax" : kind == ZH_NATIVE ? "native" : "direct";
}

void zh_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

void zh_json_number(FILE *f, double v) {
  isnan(v) ? fprintf(f, "null") : fprintf(f, "%.10g", v);
}

static void json_series(FILE *f, const zh_series *s) {
  fprintf(f, "    {\"workload\": \"%s\", \"backend\": \"%s\", \"kind\": \"%s\", \"status\": %d, "
             "\"error\": ", s->workload, s->backend, kind_name(s->kind), s->status);
  zh_json_string(f, s->error);
  fprintf(f, ", \"syscalls_per_op\": ");
  zh_json_number(f, s->syscalls_per_op);
  fprintf(f, ", \"allocs_per_op\": ");
  zh_json_number(f, s->allocs_per_op);
  fprintf(f, ", \"samples\": [");
  for (size_t i = 0; i < s->count; i++) {
    const zb_sample *x = &s->samples[i];
    fprintf(f, "%s{\"ops\": %llu, \"wall_ns\": %llu, \"cpu_ns\": %llu, \"p50_ns\": %llu, "
               "\"p99_ns\": %llu}", i ? ", " : "", (unsigned long long)x->ops,
            (unsigned long long)x->wall_ns, (unsigned long long)x->cpu_ns,
            (unsigned long long)x->p50_ns, (unsigned long long)x->p99_ns);
  }
  fprintf(f, "]}");
}

FILE *zh_json_open(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return perror(path), NULL;
  char machine[1024];
  zh_machine(machine, sizeof machine);
  fprintf(f, "{\n  \"machine\": ");
  zh_json_string(f, machine);
  return f;
}

int zh_write_json(const zh_options *opt, const zh_series *all, size_t n) {
  FILE *f = zh_json_open(opt->json_path);
  if (f == NULL) return -1;
  fprintf(f, ",\n  \"reps\": %u,\n  \"procs\": %u,\n  \"quick\": %s,\n  \"worker_threads\": ",
          opt->reps, opt->procs, opt->quick ? "true" : "false");
  zh_json_string(f, opt->workers ? opt->workers : "");
  fprintf(f, ",\n  \"series\": [\n");
  for (size_t i = 0; i < n; i++) {
    json_series(f, &all[i]);
    fprintf(f, i + 1 < n ? ",\n" : "\n");
  }
  fprintf(f, "  ]\n}\n");
  return fclose(f) == 0 ? 0 : -1;
}
