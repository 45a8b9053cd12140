#!/bin/sh
# Installs the command-line tools of the aksmesh.istio execution environment into ${DESTDIR}/usr/local/bin, for the
# architecture the image is built for (TARGETARCH, which BuildKit and podman set; uname -m without it). Each tool is
# checked against a sha256 pinned in execution-environment.yml's build arguments (<TOOL>_SHA256_<ARCH>), never
# against a checksum fetched from where the tool comes from. Every pin is checked before the first download:
# a tool that must be in the image and has no pin for this architecture refuses the build, naming the argument.
#   helm       required (aksmesh_install_method: helm)
#   kubelogin  required (the exec credential plugin of Entra ID clusters' kubeconfigs)
#   istioctl   only with ISTIOCTL_SHA256_<ARCH>: without it the image has no istioctl, and a run downloads the
#              version it asks for (aksmesh_istioctl_download: true, the default), as on any controller
set -eu

fail() {
  echo "aksmesh-ee: $*" >&2
  exit 1
}

arch="${TARGETARCH:-}"
if [ -z "$arch" ]; then
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
fi
case "$arch" in
  amd64 | arm64) ARCH=$(echo "$arch" | tr a-z A-Z) ;;
  *) fail "no tools are pinned for the architecture '$arch': this execution environment builds for amd64 and arm64 (podman build --platform linux/amd64 or linux/arm64)" ;;
esac

# pin TOOL: the sha256 of TOOL for this architecture (the build argument <TOOL>_SHA256_<ARCH>), or empty
pin() {
  eval "printf '%s' \"\${$1_SHA256_${ARCH}:-}\""
}

need() {
  value="$(pin "$1")"
  [ -n "$value" ] || fail "$2 for linux-$arch has no pinned sha256: pass --build-arg $1_SHA256_${ARCH}=<the sha256 of $3, taken from its release and checked out of band>, or build for another architecture"
  echo "$value" | grep -Eq '^[0-9a-f]{64}$' || fail "$1_SHA256_${ARCH}='$value' is not a sha256 (64 lowercase hex digits)"
}

: "${HELM_VERSION:?HELM_VERSION is not set}" "${KUBELOGIN_VERSION:?KUBELOGIN_VERSION is not set}" "${ISTIO_VERSION:?ISTIO_VERSION is not set}"
need HELM "helm $HELM_VERSION" "helm-v$HELM_VERSION-linux-$arch.tar.gz"
need KUBELOGIN "kubelogin $KUBELOGIN_VERSION" "kubelogin-linux-$arch.zip"
istioctl_sha="$(pin ISTIOCTL)"
if [ -n "$istioctl_sha" ]; then
  need ISTIOCTL "istioctl $ISTIO_VERSION" "istioctl-$ISTIO_VERSION-linux-$arch.tar.gz"
fi

bin="${DESTDIR:-}/usr/local/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch URL SHA256 FILE: download URL to FILE and check it against the pinned SHA256
fetch() {
  echo "aksmesh-ee: $1"
  curl -fsSL -o "$3" "$1"
  echo "$2  $3" | sha256sum -c -
}

fetch "https://get.helm.sh/helm-v$HELM_VERSION-linux-$arch.tar.gz" "$(pin HELM)" "$work/helm.tgz"
tar -xzf "$work/helm.tgz" -C "$work" "linux-$arch/helm"
install -D -m 0755 "$work/linux-$arch/helm" "$bin/helm"

fetch "https://github.com/Azure/kubelogin/releases/download/v$KUBELOGIN_VERSION/kubelogin-linux-$arch.zip" \
  "$(pin KUBELOGIN)" "$work/kubelogin.zip"
"${PYCMD:-python3}" -m zipfile -e "$work/kubelogin.zip" "$work/kubelogin"
install -D -m 0755 "$work/kubelogin/bin/linux_$arch/kubelogin" "$bin/kubelogin"

if [ -n "$istioctl_sha" ]; then
  fetch "https://github.com/istio/istio/releases/download/$ISTIO_VERSION/istioctl-$ISTIO_VERSION-linux-$arch.tar.gz" \
    "$istioctl_sha" "$work/istioctl.tgz"
  tar -xzf "$work/istioctl.tgz" -C "$work" istioctl
  install -D -m 0755 "$work/istioctl" "$bin/istioctl"
  "$bin/istioctl" version --remote=false
else
  echo "aksmesh-ee: no istioctl in the image: ISTIOCTL_SHA256_${ARCH} is not set, so a run downloads the istioctl of its aksmesh_istio_version (pass --build-arg ISTIO_VERSION=... ISTIOCTL_SHA256_${ARCH}=... to bake one in)"
fi
"$bin/helm" version --short
"$bin/kubelogin" --version
