# SPDX-License-Identifier: Apache-2.0
# The dashboard's third-party files, embedded next to web/src: the built files
# of the npm packages pinned in web/package.json + package-lock.json (uPlot for
# the rollout charts). Included by src/server/CMakeLists.txt at configure time.
#
# When web/node_modules lacks them, or holds another version than the lock
# file pins, configure runs `npm ci` in web/ (the npm registry is the only
# network it needs; npm checks each package against the lock file's
# integrity hash). Sets OTTER_WEB_EXTRA (for embed.cmake -DEXTRA=) and
# OTTER_WEB_EXTRA_FILES (dependencies of the embedding step).
set(OTTER_WEB_DIR ${CMAKE_SOURCE_DIR}/web)
set(CMAKE_CONFIGURE_DEPENDS_WEB ${OTTER_WEB_DIR}/package.json ${OTTER_WEB_DIR}/package-lock.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CONFIGURE_DEPENDS_WEB})

# name in node_modules, files under its dist/, URL prefix
set(otter_web_vendor uplot "uPlot.esm.js|uPlot.min.css" vendor/uplot)

file(READ ${OTTER_WEB_DIR}/package-lock.json otter_lock)

function(otter_web_pinned pkg out)
  string(JSON v ERROR_VARIABLE e GET "${otter_lock}" packages "node_modules/${pkg}" version)
  if(e)
    message(FATAL_ERROR "web/package-lock.json does not pin ${pkg}: ${e}")
  endif()
  set(${out} ${v} PARENT_SCOPE)
endfunction()

function(otter_web_installed pkg out)
  set(v "")
  set(pj ${OTTER_WEB_DIR}/node_modules/${pkg}/package.json)
  if(EXISTS ${pj})
    file(READ ${pj} text)
    string(JSON v ERROR_VARIABLE e GET "${text}" version)
  endif()
  set(${out} "${v}" PARENT_SCOPE)
endfunction()

set(otter_need_npm FALSE)
list(LENGTH otter_web_vendor n)
math(EXPR last "${n} - 1")
foreach(i RANGE 0 ${last} 3)
  list(GET otter_web_vendor ${i} pkg)
  otter_web_pinned(${pkg} want)
  otter_web_installed(${pkg} have)
  if(NOT have STREQUAL want)
    message(STATUS "web/node_modules/${pkg}: '${have}', the lock file pins ${want}")
    set(otter_need_npm TRUE)
  endif()
endforeach()

if(otter_need_npm)
  find_program(OTTER_NPM npm)
  if(NOT OTTER_NPM)
    message(FATAL_ERROR "The dashboard embeds npm packages pinned in web/package-lock.json, "
      "and npm is missing: install Debian's npm, or run `npm ci` in web/ elsewhere and copy web/node_modules.")
  endif()
  message(STATUS "Running npm ci in web/ (the pinned dashboard packages)")
  execute_process(COMMAND ${OTTER_NPM} ci --ignore-scripts --no-audit --no-fund
    WORKING_DIRECTORY ${OTTER_WEB_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci in web/ failed (${rc}):\n${out}\n${err}")
  endif()
endif()

set(OTTER_WEB_EXTRA "")
set(OTTER_WEB_EXTRA_FILES "")
foreach(i RANGE 0 ${last} 3)
  math(EXPR j "${i} + 1")
  math(EXPR k "${i} + 2")
  list(GET otter_web_vendor ${i} pkg)
  list(GET otter_web_vendor ${j} names)
  list(GET otter_web_vendor ${k} prefix)
  otter_web_pinned(${pkg} want)
  otter_web_installed(${pkg} have)
  if(NOT have STREQUAL want)
    message(FATAL_ERROR "web/node_modules/${pkg} is '${have}' after npm ci, the lock file pins ${want}")
  endif()
  string(REPLACE "|" ";" names "${names}")
  foreach(name IN LISTS names)
    set(f ${OTTER_WEB_DIR}/node_modules/${pkg}/dist/${name})
    if(NOT EXISTS ${f})
      message(FATAL_ERROR "${f} is missing from the ${pkg} ${want} package")
    endif()
    list(APPEND OTTER_WEB_EXTRA "${prefix}/${name}=${f}")
    list(APPEND OTTER_WEB_EXTRA_FILES ${f})
  endforeach()
endforeach()
string(REPLACE ";" "|" OTTER_WEB_EXTRA "${OTTER_WEB_EXTRA}")
