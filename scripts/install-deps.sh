#!/usr/bin/env bash
# Installs the system libraries SparseTuning links against (Debian/Ubuntu), only if missing: oneDNN for matrix
# multiplies, libjpeg-turbo and libpng for images, cairo and the DejaVu fonts for the report figures, Open MPI
# (library and mpirun) for data-parallel training, FFmpeg's libraries for video files, pkg-config
# for the build. Idempotent; needs root or sudo.
set -euo pipefail
packages=(libdnnl-dev libjpeg-dev libpng-dev libcairo2-dev fonts-dejavu-core libopenmpi-dev openmpi-bin
          libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
