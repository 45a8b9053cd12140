"""Stand-in for the get-pip.py script ansible-test downloads from a host this network cannot reach.

ansible-test runs it inside each new sanity virtualenv with pip's options (for example
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``). We bootstrap the pip
wheel bundled with CPython (ensurepip, no network), then let that pip install the requested
pip version from the package registry.
"""

import ensurepip
import os
import subprocess
import sys

env = dict(os.environ)  # before ensurepip, which sets PIP_CONFIG_FILE=/dev/null in os.environ
ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
# ansible-test strips the environment; the bundled pip then misses a site CA bundle that newer pips find
for bundle in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
    if "SSL_CERT_FILE" not in env and os.path.exists(bundle):
        env["SSL_CERT_FILE"] = bundle
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet"] + args, env=env))
