#!/usr/bin/env bash
# Makes a development CA and a server certificate for localhost, 127.0.0.1 and ::1, signed by that CA.
# For tests and development only: the CA key stays in OUT_DIR and must never be trusted system-wide.
#
#   Certs/generate-dev-certs.sh OUT_DIR
#
# Writes OUT_DIR/ca.crt, ca.key (0600), server.crt (leaf + CA chain), server.key (0600).
# Use with: tls.certificate = OUT_DIR/server.crt, tls.private_key = OUT_DIR/server.key;
# clients trust OUT_DIR/ca.crt (curl --cacert, wget --ca-certificate, aria2c --ca-certificate,
# lftp 'set ssl:ca-file').
set -euo pipefail
out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
cd "$out"
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/O=ImageGate development/CN=ImageGate dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/O=ImageGate development/CN=localhost" -out server.csr
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile server.ext -out server.leaf.crt 2>/dev/null
cat server.leaf.crt ca.crt > server.crt
rm -f server.csr server.ext server.leaf.crt ca.srl
chmod 0644 ca.crt server.crt
echo "wrote $out/ca.crt $out/server.crt $out/server.key"
