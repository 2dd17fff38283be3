# SPDX-License-Identifier: Apache-2.0
# Parsers of libotter: manifest.json, manifest.sig, root.json and whole packages.
foreach(name fuzz_manifest fuzz_sig fuzz_trust fuzz_pkg)
  otter_fuzz_target(${name} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c LIBS otter)
endforeach()
