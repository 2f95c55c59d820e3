#!/usr/bin/env bash
# Makes a throwaway CA, a server certificate (for 127.0.0.1 and localhost)
# and a client certificate, all signed by the CA, in DIR:
#   ca.pem server.pem server.key client.pem client.key
# Usage: make_test_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=keygate test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=keygate-$who" \
    -keyout "$who.key" -out "$who.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' \
    "$([[ $who == server ]] && echo serverAuth || echo clientAuth)" >"$who.ext"
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$who.ext" -out "$who.pem" 2>/dev/null
done
rm -f ./*.csr ./*.ext ca.srl
