#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent: a re-run with everything
# present does not touch apt at all.
set -euo pipefail
packages=(gnupg zlib1g-dev xz-utils file bc openssl postgresql-15 postgresql-client-15 chromium chromium-driver
  openssh-server openssh-client slapd ldap-utils iproute2 procps)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages with daemons (sshd, slapd) must not start them: the tests start their own, on loopback
  # and in their own network namespaces only.
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Python side of the tests: selenium (pinned to a version whose dependencies the registry has)
# and pytest for the browser test, aiosmtpd for the real SMTP server the mail tests talk to.
if ! python3 -c "import selenium, pytest, aiosmtpd" 2>/dev/null; then
  pip install -q "selenium==4.27.1" pytest "aiosmtpd==1.4.6"
fi
