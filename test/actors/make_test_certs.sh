#!/bin/sh
# Test certificates for the mutual-TLS tests (distributed_tests.cpp), made at test time
# with the openssl CLI into $1: a cluster CA (ca.pem), node certificates signed by it
# (n1, n2, n3: <name>.pem + <name>.key, CN = the name), and a second CA with a certificate of its own
# (rogue.pem + rogue.key) that the cluster must refuse.
set -eu
dir=$1
cd "$dir"
subj() { printf '/CN=%s' "$1"; }
make_ca() {  # name
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "$(subj "$1")" \
    -keyout "$1.key" -out "$1.pem" >/dev/null 2>&1
}
make_cert() {  # name ca
  openssl req -newkey rsa:2048 -nodes -subj "$(subj "$1")" -keyout "$1.key" -out "$1.csr" >/dev/null 2>&1
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -out "$1.pem" >/dev/null 2>&1
  rm -f "$1.csr"
}
make_ca ca
make_ca other_ca
make_cert n1 ca
make_cert n2 ca
make_cert n3 ca
make_cert rogue other_ca
