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

# nginx_start DIR LOGDIR BODY: starts a test nginx (daemon, one worker) from DIR/nginx.conf,
# logs and temp files in LOGDIR, pid in DIR/nginx.pid. BODY is a function that prints the
# lines of the http block (log formats, servers) for a base port it gets as $1; it may use
# base .. base+9. Ports are picked at random on 127.0.0.1 and tried again when taken.
# Sets nginx_base; fails when no try worked.
nginx_start() {
  local dir=$1 logs=$2 body=$3
  for _ in $(seq 20); do
    nginx_base=$((20000 + RANDOM % 30000))
    {
      nginx_user
      cat <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $logs/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
  client_body_temp_path $logs; proxy_temp_path $logs; fastcgi_temp_path $logs;
  uwsgi_temp_path $logs; scgi_temp_path $logs;
$("$body" "$nginx_base")
}
CONF
    } > "$dir/nginx.conf"
    nginx -p "$dir" -c "$dir/nginx.conf" 2>/dev/null && return 0
  done
  echo "cannot start nginx" >&2
  return 1
}
