#!/usr/bin/env bash
# Makes a CA and a certificate for the Redis Cluster of Deploy/compose.redis-cluster.yaml (valid for
# its six fixed addresses, 172.28.0.11-16), in Deploy/certs/. For trying the setup; production
# certificates come from your own CA.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p certs
cd certs
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=danmaku-redis-ca -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=redis -keyout redis.key -out redis.csr 2>/dev/null
printf 'subjectAltName=IP:172.28.0.11,IP:172.28.0.12,IP:172.28.0.13,IP:172.28.0.14,IP:172.28.0.15,IP:172.28.0.16\n' >ext.cnf
openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile ext.cnf -out redis.crt 2>/dev/null
chmod 644 redis.key  # read by the redis user inside the containers
echo "certificates in Deploy/certs/"
