// colo: thin entry point; all logic lives in the libraries (src/).
#include <iostream>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return colo::cli_main(argc, argv, std::cout, std::cerr);
}
