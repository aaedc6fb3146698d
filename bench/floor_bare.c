/* bench_floor_bare: the libc and ld.so baseline under every process (issue 4,
 * docs/performance.md "Agent"): it links nothing but libc and waits for a signal. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  fputs("connected\n", stderr);
  pause();
  return 0;
}
