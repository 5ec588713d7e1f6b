/* The stress suite: run once per backend (ZYNTAX_RUNTIME), label "stress". */
#include <stdio.h>
#include <stdlib.h>

#include "stress.h"

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stress_million_tasks),
      cmocka_unit_test(stress_pending_at_destroy),
      cmocka_unit_test(stress_wake_storm),
      cmocka_unit_test(stress_spawn_from_threads),
      cmocka_unit_test(stress_tcp_connections),
  };
  return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
