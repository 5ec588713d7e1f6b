/* One line describing the machine and the library versions of a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <zyntax/runtime.h>

#include "harness.h"

static void cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(buf, size, "%s", colon + 2);
      break;
    }
  }
  if (f) fclose(f);
}

#define ZH_MAX_BACKENDS 8
static char found[ZH_MAX_BACKENDS][64];
static size_t found_count;

static int add_backend(const zyntax_backend_info *info, void *arg) {
  (void)arg;
  if (info->status != 0 || found_count == ZH_MAX_BACKENDS) return 0;
  /* The simulation's virtual clock makes every timing meaningless. */
  if (strcmp(info->name, "sim") == 0) return 0;
  for (size_t i = 0; i < found_count; i++)
    if (strcmp(found[i], info->name) == 0) return 0;
  snprintf(found[found_count++], sizeof found[0], "%s", info->name);
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

size_t zh_backends(const char **out, size_t max) {
  if (found_count == 0) {
    zyntax_backend_foreach(add_backend, NULL);
    qsort(found, found_count, sizeof found[0], by_name);
  }
  size_t n = found_count < max ? found_count : max;
  for (size_t i = 0; i < n; i++) out[i] = found[i];
  return n;
}

void zh_machine(char *buf, size_t size) {
  char cpu[256], versions[512] = "", date[32];
  struct utsname u;
  cpu_model(cpu, sizeof cpu);
  if (uname(&u) != 0) snprintf(u.release, sizeof u.release, "?");
  const char *names[ZH_MAX_BACKENDS];
  size_t n = zh_backends(names, ZH_MAX_BACKENDS);
  for (size_t i = 0; i < n; i++) {
    zyntax_backend_info info = {.size = sizeof info};
    if (zyntax_backend_probe(names[i], &info) == 0) {
      size_t used = strlen(versions);
      snprintf(versions + used, sizeof versions - used, "%s%s", used ? ", " : "", info.version);
    }
  }
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
  snprintf(buf, size, "%s; %s, %ld logical CPUs, Linux %s; %s", date, cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.release, versions);
}
