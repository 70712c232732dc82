// The outage drill. Grown in place as capabilities land.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  bool quiet = argc > 1 && std::strcmp(argv[1], "--quiet") == 0;
  if (!quiet) std::printf("Lifeline outage drill\n");
  return 0;
}
