#!/usr/bin/env bash
# apply-layers.sh OUT LAYER_DIR...
#
# Naive reference merge of unpacked OCI layers (bottom first, as made by unpack-layer.sh) into
# OUT, with OCI whiteout rules: in each upper layer, `.wh..wh..opq` empties its directory
# (lower children only), `.wh.<name>` removes <name> from the lower layers, then everything
# else is copied on top with GNU tar (files replace files, directories take the upper
# metadata and keep their lower children). Used by e2e.layered_python to check that the
# unpacked layers themselves reproduce the umoci-unpacked image (so a mismatch of the nydus
# mount is the builder's, not the test's). Root required.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUT LAYER_DIR..." >&2; exit 2; }
OUT=$1; shift
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || { echo "$OUT exists and is not empty" >&2; exit 1; }
mkdir -p "$OUT"
TARX=(--xattrs --xattrs-include='*' --numeric-owner --same-owner -p --delay-directory-restore)
first=1 opq=0 wh=0
for L in "$@"; do
  if [ $first = 0 ]; then
    while IFS= read -r -d '' o; do
      d=$OUT/$(dirname "$o")
      [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
      opq=$((opq + 1))
    done < <(cd "$L" && find . -name '.wh..wh..opq' -print0)
    while IFS= read -r -d '' w; do
      b=$(basename "$w")
      rm -rf "${OUT:?}/$(dirname "$w")/${b#.wh.}"
      wh=$((wh + 1))
    done < <(cd "$L" && find . -name '.wh.*' ! -name '.wh..wh..opq' -print0)
  fi
  tar -C "$L" --exclude='.wh.*' --xattrs --xattrs-include='*' -cf - . | tar -C "$OUT" "${TARX[@]}" -xf -
  first=0
done
echo "apply-layers: $# layer(s) -> $OUT; $opq opaque dir(s), $wh whiteout(s) applied"
