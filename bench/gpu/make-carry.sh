#!/usr/bin/env bash
# Fills a carry directory (what the GPU scripts take as CARRY / COLO_BIN, default .carry) from a
# build's bin: colo and its workload programs, and in lib/ every shared library they load that a
# GPU machine may lack (all that ldd resolves here except glibc, libstdc++/libgcc and CUDA's own
# libraries, which come from the GPU machine's driver and toolkit). colo serve needs
# libcpp-httplib (and what it links: OpenSSL, zlib, brotli), Debian packages that a GPU image
# seldom has. The GPU scripts put CARRY/lib on LD_LIBRARY_PATH for colo only, not for PyTorch
# workers (bench/gpu/serve-scale.sh).
# Usage: bench/gpu/make-carry.sh BUILD_BIN [CARRY]   e.g. build/release/bin .carry
# Exit: 0 copied (the list is printed), 2 no colo in BUILD_BIN.
set -eu
src=${1:?usage: make-carry.sh BUILD_BIN [CARRY]}
dst=${2:-$PWD/.carry}
[ -x "$src/colo" ] || { echo "make-carry: no colo in $src" >&2; exit 2; }
mkdir -p "$dst/lib"
progs=()
for p in colo colo-cpu-work colo-sim-gpu colo-pipeline colo-serve-echo colo-cuda-work \
  colo-serve-cuda; do
  if [ -x "$src/$p" ]; then
    cp "$src/$p" "$dst/"
    progs+=("$dst/$p")
  fi
done
echo "programs: ${progs[*]##*/}"
libs=$(for p in "${progs[@]}"; do ldd "$p" 2> /dev/null; done | awk '$3 ~ /^\// {print $3}' | sort -u)
copied=()
for lib in $libs; do
  name=$(basename "$lib")
  case $name in
    libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libstdc++.so* | \
      libgcc_s.so* | libcuda.so* | libcublas* | libcudart* | libnvidia*) ;;
    *) cp -L "$lib" "$dst/lib/$name"; copied+=("$name") ;;
  esac
done
echo "lib/: ${copied[*]:-nothing}"
