#!/usr/bin/env bash
# nginx.sh: make sure nginx is installed for the cluster tests
# (internal/cluster runs deploy/nginx/kepu.conf in front of three
# instances, as a private process on its own port). Installs Debian's
# nginx-light with apt-get when missing; never starts the system service.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
echo "nginx: installing nginx-light (for the cluster tests)"
apt-get update -qq
# policy-rc.d 101: the package's own service must not start (port 80).
# A policy already there (container images have one) is left as it is.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
