#!/bin/bash
# SPDX-License-Identifier: MIT
# tls-ca.sh DIR: a fresh test CA and the certificates the TLS tests and the
# benchmark need, made with openssl, all ECDSA P-256 (cheap handshakes on a
# loopback shared with the server):
#   ca.pem                     the test CA (not in any system store)
#   server.{pem,key}           for localhost and 127.0.0.1
#   wronghost.{pem,key}        valid, signed by the CA, for another name
#   expired.{pem,key}          for 127.0.0.1, but its validity ended a day ago
#   client.{pem,key}           a client certificate from the CA (mutual TLS)
#   stranger.{pem,key}         a client certificate from another CA
set -euo pipefail

dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# cert NAME CA-PREFIX DAYS SUBJECT EXTENSIONS
cert() {
	key "$1.key"
	openssl req -new -key "$1.key" -subj "$4" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$5" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days "$3" \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

for ca in ca otherca; do
	key "$ca.key"
	openssl req -new -x509 -key "$ca.key" -subj "/CN=warmd test $ca" -days 2 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$ca.pem" 2>/dev/null
done
SERVER="basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth"
CLIENT="basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth"
cert server ca 2 /CN=localhost "$SERVER
subjectAltName=DNS:localhost,IP:127.0.0.1"
cert wronghost ca 2 /CN=wrong.example "$SERVER
subjectAltName=DNS:wrong.example"
# A negative validity: notAfter lies a day before now.
cert expired ca -1 /CN=localhost "$SERVER
subjectAltName=DNS:localhost,IP:127.0.0.1"
cert client ca 2 /CN=warmd-client "$CLIENT"
cert stranger otherca 2 /CN=warmd-client "$CLIENT"
rm -f ./*.srl
