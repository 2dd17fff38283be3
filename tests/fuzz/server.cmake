# SPDX-License-Identifier: Apache-2.0
# Fuzz targets of otter-server's parsers: server.conf and management API request bodies.
if(TARGET otter_server_lib)
  otter_fuzz_target(fuzz_server_config SOURCES fuzz_server_config.c LIBS otter_server_lib)
  otter_fuzz_target(fuzz_server_request SOURCES fuzz_server_request.c LIBS otter_server_lib)
endif()
if(TARGET otter_server_lib)
  otter_fuzz_target(fuzz_ddi_json SOURCES fuzz_ddi_json.c LIBS otter_server_lib PkgConfig::JANSSON)
endif()
if(TARGET otter_server_lib)
  otter_fuzz_target(fuzz_rollout_request SOURCES fuzz_rollout_request.c LIBS otter_server_lib
                    PkgConfig::JANSSON)
endif()
if(TARGET otter_server_lib)
  otter_fuzz_target(fuzz_devcert SOURCES fuzz_devcert.c LIBS otter_server_lib)
endif()
