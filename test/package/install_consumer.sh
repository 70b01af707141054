#!/usr/bin/env bash
# Installs the build into a temporary prefix (cmake --install) and uses it as a project of
# its own would: examples/quick_start.cpp and a metrics consumer (ra/prometheus.hpp: a
# system's /metrics served and fetched) through find_package(ra MAJOR.MINOR) and ra::ra,
# examples/kv_actor.cpp through pkg-config; both programs run (they check their results).
# Also: only include/ra/ is installed as headers, and libra's SONAME carries MAJOR.MINOR.
# Usage: install_consumer.sh SOURCE_DIR BUILD_DIR VERSION CXX
set -euo pipefail
src=$1 build=$2 version=$3 cxx=$4
major_minor=${version%.*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
[[ $(ls "$prefix/include") == ra ]] || { echo "installed headers beyond include/ra: $(ls "$prefix/include")"; exit 1; }
[[ -f $prefix/include/ra/version.hpp && -f $prefix/include/ra/system.hpp ]] || { echo "public headers missing"; exit 1; }
if find "$prefix/include" -name '*.in' | grep -q .; then echo "templates installed"; exit 1; fi
libdir=$(dirname "$(find "$prefix" -name 'libra.so*' -o -name 'libra.a' | head -n 1)")
if [[ -e $libdir/libra.so ]]; then
  soname=$(readelf -d "$libdir/libra.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
  [[ $soname == "libra.so.$major_minor" ]] || { echo "SONAME '$soname', expected libra.so.$major_minor"; exit 1; }
fi

echo "== find_package(ra $major_minor CONFIG REQUIRED), ra::ra: quick_start"
cmake -S "$src/test/package/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DRA_WANTED_VERSION="$major_minor" -DRA_EXAMPLES_DIR="$src/examples" >"$tmp/configure.log" \
  || { cat "$tmp/configure.log"; exit 1; }
found=$(sed -n 's/^ra_DIR:PATH=//p' "$tmp/consumer/CMakeCache.txt")
[[ $found == "$prefix"/* ]] || { echo "find_package found ra in '$found', not in $prefix"; exit 1; }
cmake --build "$tmp/consumer" -j "${JOBS:-1}"
"$tmp/consumer/quick_start"
"$tmp/consumer/metrics_consumer"

echo "== pkg-config ra: kv_actor"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[[ $(pkg-config --modversion ra) == "$version" ]] || { echo "pkg-config version $(pkg-config --modversion ra)"; exit 1; }
# shellcheck disable=SC2046
"$cxx" $(pkg-config --cflags ra) "$src/examples/kv_actor.cpp" -o "$tmp/kv_actor" \
       $(pkg-config --libs ra) -Wl,-rpath,"$libdir"
"$tmp/kv_actor"
echo "the installed package builds and runs both examples"
