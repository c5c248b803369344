#!/usr/bin/env bash
# Makes a development certificate authority, a server certificate and
# client certificates with openssl, for ncmd's TLS and mutual TLS:
#   deploy/make-dev-certs.sh [out_dir] [client_name ...]
# out_dir (default var/certs) receives ca.pem/ca.key, server.pem/server.key
# (valid for localhost, 127.0.0.1, ::1 and $NCM_CERT_HOSTS, space
# separated) and <client>.pem/<client>.key per client name (default one
# client, "secretariat"). Keys are readable by their owner only. For
# development and tests: production certificates come from a real CA.
set -euo pipefail
out="${1:-var/certs}"
shift || true
clients=("$@")
[ ${#clients[@]} -eq 0 ] && clients=(secretariat)
mkdir -p "$out"
umask 077
days=825

if [ ! -f "$out/ca.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" \
    -keyout "$out/ca.key" -out "$out/ca.pem" \
    -subj "/O=NCM development/CN=NCM development CA" 2>/dev/null
fi

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for h in ${NCM_CERT_HOSTS:-}; do
  if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
done

sign() {  # name subject extensions
  local name="$1" subject="$2" ext="$3"
  openssl req -newkey rsa:2048 -nodes -keyout "$out/$name.key" \
    -out "$out/$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -days "$days" -out "$out/$name.pem" \
    -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$out/$name.csr"
}

sign server "/O=NCM development/CN=ncmd" \
  "subjectAltName=$san
extendedKeyUsage=serverAuth"
for c in "${clients[@]}"; do
  sign "$c" "/O=NCM development/CN=$c" "extendedKeyUsage=clientAuth"
done
chmod 600 "$out"/*.key
chmod 644 "$out"/*.pem
echo "certificates in $out: ca.pem, server.pem/server.key, ${clients[*]/%/.pem}" >&2
