#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by tests that start nginx.
#   nginx_user   -> the "user" line for the test's nginx.conf (empty when not root)
# Started as root, nginx runs its workers as www-data (Debian's default), and they
# cannot read a build tree under a 0700 directory such as /root: every file is a
# 403. The workers run as root then, like the rest of the test; not started as
# root, nginx cannot switch users and the workers are the invoking user already.
nginx_user() {
  if [ "$(id -u)" = 0 ]; then echo "user root root;"; fi
}
