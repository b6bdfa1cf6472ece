#!/usr/bin/env bash
# certificate-fonts.sh: regenerate the fonts that internal/certificate embeds
# in the binary to draw certificate images. Run it after changing the
# character sets below or the certificate title in the locale files:
#
#   scripts/certificate-fonts.sh
#
# Source: Debian's fonts-noto-cjk (made with 1:20220127+repack1-1), the
# Simplified Chinese faces of Noto Serif CJK (SIL OFL 1.1, see
# internal/certificate/fonts/OFL.txt), subset with fontTools' pyftsubset
# (Debian's python3-fonttools). Both are installed with apt-get when missing.
#
#   NotoSerifSC-Regular.subset.otf  body text: ASCII, Latin-1, general
#       punctuation (dashes, curly quotes, ellipsis), CJK symbols and
#       punctuation, full-width forms, every GB2312 character (all 6,763
#       hanzi plus its symbols, e.g. □ which stands in for characters the
#       subset lacks) and EXTRA_NAMES, given-name characters outside GB2312.
#   NotoSerifSC-Bold.title.otf      the title only: ASCII plus the characters
#       of campaign.cert_image_title in every locale (a test checks this).
#
# The output is byte-for-byte reproducible (SOURCE_DATE_EPOCH pins the font
# timestamps); the script prints sizes and SHA-256 sums to compare.
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=/usr/share/fonts/opentype/noto
OUT=internal/certificate/fonts
PY=/usr/bin/python3 # Debian's Python, which has python3-fonttools

need=()
[ -f "$SRC/NotoSerifCJK-Regular.ttc" ] && [ -f "$SRC/NotoSerifCJK-Bold.ttc" ] || need+=(fonts-noto-cjk)
"$PY" -c 'import fontTools.subset' 2>/dev/null || need+=(python3-fonttools)
if [ ${#need[@]} -gt 0 ]; then
  echo "certificate-fonts: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
have=$(dpkg-query -W -f '${Version}' fonts-noto-cjk 2>/dev/null || echo unknown)
[ "$have" = "1:20220127+repack1-1" ] || echo "certificate-fonts: warning: fonts-noto-cjk $have, the committed fonts come from 1:20220127+repack1-1"

# Given-name characters that GB2312 lacks (all in the 2013 Table of General
# Standard Chinese Characters); a name with any other missing character shows
# □ in its place.
EXTRA_NAMES="喆堃玥珺昇旻晞琇瑄璟犇垚彧祎燚渟芃堉烜婳翀曌沄暐焜弢赟禛翾橦洺燊珣瑀璠畯祐竑虓衎贇镕闿頔"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
EXTRA_NAMES="$EXTRA_NAMES" "$PY" - "$tmp" <<'EOF'
import json, os, sys
tmp = sys.argv[1]
gb = []
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            gb.append(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
han = [c for c in gb if 0x4E00 <= ord(c) <= 0x9FFF]
assert len(han) == 6763, len(han)
body = sorted(set(gb) | set(os.environ["EXTRA_NAMES"]))
open(os.path.join(tmp, "body.txt"), "w", encoding="utf-8").write("".join(body))
title = set()
for lang in sorted(os.listdir("web/locales")):
    with open(os.path.join("web/locales", lang, "campaign.json"), encoding="utf-8") as f:
        title |= set(json.load(f)["campaign.cert_image_title"])
open(os.path.join(tmp, "title.txt"), "w", encoding="utf-8").write("".join(sorted(title)))
print(f"certificate-fonts: {len(gb)} GB2312 characters ({len(han)} hanzi), {len(body)} with extras; title {''.join(sorted(title)).strip()}")
EOF

# 1658966400 = 2022-07-28, fixed so that the output does not change.
export SOURCE_DATE_EPOCH=1658966400
subset() { # ttc, text file, unicodes, output
  local n
  n=$("$PY" -c 'import sys; from fontTools.ttLib import TTCollection
fonts = TTCollection(sys.argv[1]).fonts
print([i for i, f in enumerate(fonts) if f["name"].getDebugName(1).startswith("Noto Serif CJK SC")][0])' "$1")
  "$PY" -m fontTools.subset "$1" --font-number="$n" --text-file="$2" --unicodes="$3" \
    --layout-features='' --no-hinting --name-IDs='*' --notdef-outline --output-file="$4"
}
mkdir -p "$OUT"
subset "$SRC/NotoSerifCJK-Regular.ttc" "$tmp/body.txt" "U+0020-007E,U+00A0-00FF,U+2010-2027,U+3000-303F,U+FF01-FF5E,U+FFE0-FFE6" \
  "$OUT/NotoSerifSC-Regular.subset.otf"
subset "$SRC/NotoSerifCJK-Bold.ttc" "$tmp/title.txt" "U+0020-007E" "$OUT/NotoSerifSC-Bold.title.otf"
ls -l "$OUT"/*.otf
sha256sum "$OUT"/*.otf
