#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe) when no Vulkan driver is present, so Dawn
# (npm `webgpu`) has an adapter on machines without a GPU (CI, laptops without drivers).
#
# Why backports: Debian bookworm's own Mesa 22.3 is refused by Dawn ("Vulkan
# shaderUniform*ArrayDynamicIndexing required"); Mesa 25 from bookworm-backports is accepted.
# Idempotent: a second run finds the driver and does nothing.
set -euo pipefail

say() { echo "setup-cpu-vulkan: $*"; }

icd_present() {
  local d
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    if compgen -G "$d/*.json" >/dev/null 2>&1; then
      # Mesa 22.3's lavapipe is present on a plain bookworm but Dawn refuses it.
      if [ -f "$d/lvp_icd.x86_64.json" ] || [ -f "$d/lvp_icd.aarch64.json" ]; then
        mesa_ok && return 0 || return 1
      fi
      return 0
    fi
  done
  return 1
}

mesa_ok() {
  # Dawn needs Mesa >= 23; the package version starts with the Mesa version.
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -z "$v" ] && return 0 # not from Debian's package: trust it
  local major=${v%%.*}; major=${major#*:}
  [ "$major" -ge 23 ]
}

if [ "${KILN_SKIP_VULKAN_SETUP:-}" = 1 ]; then say "KILN_SKIP_VULKAN_SETUP=1: skipped"; exit 0; fi

if icd_present && ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  say "a Vulkan driver and loader are present; nothing to do"
  exit 0
fi

if [ "$(uname -s)" != Linux ]; then
  say "not Linux: install your platform's GPU driver (Metal on macOS and D3D12 on Windows need nothing)"; exit 0
fi
if [ ! -r /etc/os-release ] || ! grep -q '^ID=debian' /etc/os-release; then
  say "not Debian: install Mesa >= 23 with lavapipe (package mesa-vulkan-drivers) and libvulkan1 yourself"; exit 1
fi
if [ "$(id -u)" != 0 ]; then
  say "needs root to install packages: run it with sudo"; exit 1
fi

codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
export DEBIAN_FRONTEND=noninteractive
if [ "$codename" = bookworm ]; then
  list=/etc/apt/sources.list.d/kiln-bookworm-backports.list
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Reuse the mirror the machine already uses for bookworm.
    mirror=$( (grep -rhE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
    if [ -z "$mirror" ]; then
      say "no Debian mirror found in apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d/):"
      say "add a line 'deb <your bookworm mirror> bookworm-backports main' to $list, then run this again"
      exit 1
    fi
    say "adding bookworm-backports from $mirror (the mirror apt already uses for bookworm)"
    echo "deb $mirror bookworm-backports main" > "$list"
  fi
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi

if icd_present; then say "lavapipe installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
else say "installed packages but found no usable Vulkan driver"; exit 1; fi
