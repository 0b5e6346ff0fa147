#include "gpu/gpu_backend.hpp"
