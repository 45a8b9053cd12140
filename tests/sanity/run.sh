#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/<ns>/<name>; copy the tracked tree there.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dest="$here/.build/sanity/ansible_collections/aksmesh/istio"
rm -rf "$dest" && mkdir -p "$dest"
cd "$here"
# ansible-test bootstraps pip in its sanity venvs with a downloaded get-pip.py; give it our offline one
pipver=$("$here/.venv-sanity/bin/python" -c 'from ansible_test._internal.python_requirements import PIP_VERSION; print(PIP_VERSION.replace(".", "_"))' 2>/dev/null || echo 24_2)
mkdir -p ~/.ansible/test/cache
cp tests/sanity/get_pip_offline.py ~/.ansible/test/cache/get_pip_${pipver}.py
# collections/ansible_collections/aksmesh/istio, the link of this checkout to itself that ansible.cfg names, is no
# part of the collection (galaxy.yml build_ignore leaves it out of the tarball) and ansible-test refuses symlinks to
# folders: it stays out of the copy.
git ls-files --cached --others --exclude-standard -z | grep -zv '^collections/' \
  | xargs -0 -I{} cp --parents -P {} "$dest"/ 2>/dev/null || true
cd "$dest"
# ansible-test reads the file list from git when there is one; give it a repo of exactly these files
git init -q . && git add -A >/dev/null && git -c user.name=s -c user.email=s@s commit -qm sanity >/dev/null
exec "$here/.venv-sanity/bin/ansible-test" sanity --python 3.11 --color no --requirements "$@"
