/* One line describing the machine and the library versions of a run. */
#include <stdio.h>
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

void zh_machine(char *buf, size_t size) {
  char cpu[256], versions[512] = "", date[32];
  struct utsname u;
  cpu_model(cpu, sizeof cpu);
  if (uname(&u) != 0) snprintf(u.release, sizeof u.release, "?");
  const char *names[] = {"uv", "ev", "tokio"};
  for (size_t i = 0; i < 3; i++) {
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
