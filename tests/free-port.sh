#!/usr/bin/env bash
# free_port: prints a TCP port on 127.0.0.1 that nothing listens on, from 20000 up (the test
# services' own ports come from below 20000, tests/Egressd.Tests/Infrastructure/FreePort.cs).
# Sourced by the private broker scripts.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free TCP port found" >&2
  return 1
}
