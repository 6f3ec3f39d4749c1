#!/usr/bin/env bash
# Install the system packages the test suite uses (Debian/Ubuntu; needs root).
set -euo pipefail
# command -> Debian package: the sandbox (bwrap, prlimit, setpriv) and the languages it runs.
declare -A wanted=(
  [bwrap]=bubblewrap [prlimit]=util-linux [setpriv]=util-linux [gcc]=gcc [g++]=g++
  [node]=nodejs [javac]=openjdk-17-jdk-headless [go]=golang-go [psql]=postgresql-client
  [redis-cli]=redis-tools [chromium]=chromium [chromedriver]=chromium-driver [runsc]=runsc
  [php]=php-cli [mcs]=mono-mcs [mono]=mono-runtime [octave-cli]=octave [tsc]=node-typescript
  [rustc]=rustc [ruby]=ruby
)
missing=()
# Looked up on the sandbox's PATH (a rustup rustc in ~/.cargo/bin is not visible inside it).
for command in "${!wanted[@]}"; do
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$command" \
    >/dev/null 2>&1 || missing+=("${wanted[$command]}")
done
# libseccomp's Python binding: the sandbox compiles its syscall filter with it
compgen -G "/usr/lib/python3/dist-packages/seccomp*.so" >/dev/null || missing+=(python3-seccomp)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
