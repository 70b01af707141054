#!/usr/bin/env bash
# Builds the .deb (cpack -G DEB), installs it with apt-get as on a fresh Debian machine and
# checks it: ra-node / ra-ctl / ra-inspect --version print VERSION, postinst made the user
# ra-cpp, /var/lib/ra-cpp (its own) and /etc/ra-cpp/ra-node.json, the systemd unit runs the
# installed ra-node, and ra-node starts with that config as that user and stops on SIGTERM.
# Then the package is purged (and the user and data dir, if this test made them), so the
# test can run again. Needs root: exits 77 (ctest: skipped) otherwise.
# Usage: deb_install.sh BUILD_DIR VERSION
set -euo pipefail
build=$1 version=$2
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: installing the .deb needs root (CI runs the suite as root)"
  exit 77
fi
tmp=$(mktemp -d)
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=300 -y -q "$@"; }
had_user=no; getent passwd ra-cpp >/dev/null && had_user=yes
had_data=no; [[ -e /var/lib/ra-cpp ]] && had_data=yes
node_pid=
cleanup() {
  [[ -n $node_pid ]] && kill -9 "$node_pid" 2>/dev/null || true
  apt_get purge ra-cpp >/dev/null 2>&1 || true
  [[ $had_data == no ]] && rm -rf /var/lib/ra-cpp
  [[ $had_user == no ]] && getent passwd ra-cpp >/dev/null && userdel ra-cpp
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp" >"$tmp/cpack.log") || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/ra-cpp_"$version"_*.deb) || fail "no ra-cpp_${version}_*.deb in $(ls "$tmp")"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libcaf-core 'libspdlog1' 'libssl3'; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

if dpkg-query -W -f='${Status}' ra-cpp 2>/dev/null | grep -q installed; then apt_get purge ra-cpp >/dev/null; fi
apt_get install --no-install-recommends "$deb" >"$tmp/apt.log" || { cat "$tmp/apt.log"; fail "apt-get install"; }

for t in ra-node ra-ctl ra-inspect; do
  out=$("/usr/bin/$t" --version) || fail "$t --version"
  [[ $out == "$t $version" ]] || fail "$t --version printed '$out'"
done
echo "ra-node --version: $(ra-node --version)"
getent passwd ra-cpp >/dev/null || fail "no user ra-cpp"
[[ $(stat -c %U /var/lib/ra-cpp) == ra-cpp ]] || fail "/var/lib/ra-cpp is not ra-cpp's"
[[ -f /etc/ra-cpp/ra-node.json ]] || fail "no /etc/ra-cpp/ra-node.json"
unit=/usr/lib/systemd/system/ra-node.service
[[ -f $unit ]] || fail "no $unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ $exec_start == "/usr/bin/ra-node /etc/ra-cpp/ra-node.json" ]] || fail "ExecStart=$exec_start"
[[ -f /usr/lib/x86_64-linux-gnu/pkgconfig/ra.pc || -n $(find /usr/lib -name ra.pc) ]] || fail "no ra.pc"

# The service's command line as its user: ra-node starts with the shipped config (port 0
# instead of 7001, so that the test does not depend on a free port) and stops cleanly.
sed 's/"listen_port": 7001/"listen_port": 0/' /etc/ra-cpp/ra-node.json >"$tmp/ra-node.json"
chmod 755 "$tmp"; chmod 644 "$tmp/ra-node.json"
setpriv --reuid=ra-cpp --regid=ra-cpp --init-groups -- /usr/bin/ra-node "$tmp/ra-node.json" --port-file /var/lib/ra-cpp/port \
  >"$tmp/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do [[ -s /var/lib/ra-cpp/port ]] && break; sleep 0.1; done
[[ -s /var/lib/ra-cpp/port ]] || { cat "$tmp/node.log"; fail "ra-node did not start as ra-cpp"; }
kill -TERM "$node_pid"
wait "$node_pid" || { cat "$tmp/node.log"; fail "ra-node did not stop cleanly"; }
node_pid=

apt_get purge ra-cpp >/dev/null
[[ ! -e /usr/bin/ra-node && ! -e /etc/ra-cpp ]] || fail "purge left ra-node or /etc/ra-cpp"
echo "the .deb installs, runs ra-node $version as ra-cpp and purges"
