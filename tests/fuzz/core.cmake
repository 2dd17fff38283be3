# SPDX-License-Identifier: Apache-2.0
# Parsers of libotter: manifest.json, manifest.sig, root.json, roots.json and whole packages.
foreach(name fuzz_manifest fuzz_sig fuzz_trust fuzz_rootchain fuzz_pkg)
  otter_fuzz_target(${name} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c LIBS otter)
endforeach()
# The delta decoder (issue #12): OTDIFF1 patches and zstd-patch/bsdiff frames against a fixed source.
otter_fuzz_target(fuzz_delta SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_delta.c LIBS otter)
# Push wake-up (issue #15): the broker's payload and the topic built from a name.
otter_fuzz_target(fuzz_push SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_push.c LIBS otter)
