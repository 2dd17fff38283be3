# SPDX-License-Identifier: Apache-2.0
# cmake -DPROG=otter-agent "-DSUMMARY=..." "-DCMDS=install|status" -DDIR=help -DGEN=out
#       -DVERSION=0.1.0 -P help.cmake
# One source for --help and the man page: DIR/PROG.txt (the program's usage) and
# DIR/PROG.CMD.txt (each command's) become
#   GEN/otter_help_ID.c and .h  the same texts as C strings (otter_help_ID, otter_help_ID_CMD;
#                               ID is PROG and CMD with '-' as '_'), printed by --help;
#   GEN/man/PROG.1              a man page: NAME from SUMMARY, the usage as DESCRIPTION,
#                               each command's text under COMMANDS.
# The texts are plain ASCII, laid out for an 80-column terminal; the man page keeps that
# layout (no-fill blocks) so both read the same.
string(REPLACE "|" ";" cmds "${CMDS}")
string(REPLACE "-" "_" id "${PROG}")
string(TOUPPER "${id}" guard)

# C string literal lines of a text: quotes, backslashes and trigraph-forming '?' escaped.
function(c_literal text out)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "?" "\\?" text "${text}")
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  set(${out} "    \"${text}\\n\"" PARENT_SCOPE)
endfunction()

# A no-fill troff block of a text: backslashes as \e, '-' as \- (a minus that copies as one),
# a leading '.' or '\'' made literal with \&.
function(troff_block text out)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "\n$" "" text "${text}")
  set(text "\n${text}")
  string(REPLACE "\n." "\n\\&." text "${text}")
  string(REPLACE "\n'" "\n\\&'" text "${text}")
  set(${out} ".nf${text}\n.fi\n" PARENT_SCOPE)
endfunction()

set(banner "Generated from src/cli/help/${PROG}*.txt by src/cli/help.cmake: do not edit.")
set(h "/* ${banner} */\n#ifndef OTTER_HELP_${guard}_H\n#define OTTER_HELP_${guard}_H\n\n")
set(c "/* ${banner} */\n#include \"otter_help_${id}.h\"\n\n")
file(READ "${DIR}/${PROG}.txt" main)
c_literal("${main}" lit)
string(APPEND h "extern const char otter_help_${id}[];\n")
string(APPEND c "const char otter_help_${id}[] =\n${lit};\n")
string(TOUPPER "${PROG}" title)
troff_block("${main}" block)
set(man ".\\\" ${banner}\n.TH ${title} 1 \"\" \"otter ${VERSION}\" \"Otter manual\"\n")
string(APPEND man ".SH NAME\n${PROG} \\- ${SUMMARY}\n.SH DESCRIPTION\n${block}")
if(cmds)
  string(APPEND man ".SH COMMANDS\n")
endif()
foreach(cmd IN LISTS cmds)
  string(REPLACE "-" "_" cid "${cmd}")
  file(READ "${DIR}/${PROG}.${cmd}.txt" text)
  c_literal("${text}" lit)
  string(APPEND h "extern const char otter_help_${id}_${cid}[];\n")
  string(APPEND c "\nconst char otter_help_${id}_${cid}[] =\n${lit};\n")
  troff_block("${text}" block)
  string(REPLACE "-" "\\-" cname "${cmd}")
  string(APPEND man ".SS ${cname}\n${block}")
endforeach()
set(see "")
string(REPLACE "|" ";" all "${ALL}")
foreach(other IN LISTS all)
  if(NOT other STREQUAL PROG)
    string(REPLACE "-" "\\-" other "${other}")
    list(APPEND see "\\fB${other}\\fR(1)")
  endif()
endforeach()
list(JOIN see ", " see)
string(APPEND man ".SH SEE ALSO\n${see}\n.PP\nThe Otter documentation: docs/*.md in the source tree.\n")
string(APPEND h "\n#endif\n")
file(WRITE "${GEN}/otter_help_${id}.h" "${h}")
file(WRITE "${GEN}/otter_help_${id}.c" "${c}")
file(WRITE "${GEN}/man/${PROG}.1" "${man}")
