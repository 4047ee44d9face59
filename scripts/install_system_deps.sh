#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, only when missing:
#   chromium (browser tests through Playwright), PostgreSQL + PostGIS (store tests),
#   Pango/HarfBuzz/fontconfig (WeasyPrint: the PDF family sheet; Noto fonts for its scripts).
set -euo pipefail
need=()
{ command -v chromium >/dev/null 2>&1 && [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; } || need+=(chromium fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)
libs=$( { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null || true)
for lib in libpango-1.0-0:libpango-1.0.so.0 libpangoft2-1.0-0:libpangoft2-1.0.so.0 \
  libharfbuzz0b:libharfbuzz.so.0 libharfbuzz-subset0:libharfbuzz-subset.so.0 \
  libfontconfig1:libfontconfig.so.1 libglib2.0-0:libgobject-2.0.so.0; do
  grep -qF "${lib#*:}" <<<"$libs" || need+=("${lib%%:*}")
done
[ -e /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || need+=(fonts-noto-core)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgis postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
