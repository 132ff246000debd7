#!/usr/bin/env bash
# Checks the module layering (docs/architecture.md): every directory under SRC (src/still) is a
# module listed in LAYERS (build/layers.txt, written by cmake/modules.cmake as
# "name:public deps:private deps"); a module's files include only its own headers and those
# of the modules it lists, its headers only those it lists PUBLIC; it lists no module it does
# not include; and the lists form no cycle.
# Usage: scripts/check_layers.sh SRC LAYERS
set -euo pipefail
src=$1
layers=$2
declare -A public all
edges=""
while IFS=: read -r name pub priv; do
  [ -n "$name" ] || continue
  public[$name]=" $pub "
  all[$name]=" $pub $priv "
  for d in $pub $priv; do edges+="$name $d"$'\n'; done
  edges+="$name $name"$'\n'
done <"$layers"

bad=0
for dir in "$src"/*/; do
  mod=$(basename "$dir")
  if [ -z "${all[$mod]+set}" ]; then
    echo "src/still/$mod is not a module in CMakeLists.txt (still_module)"
    bad=1
    continue
  fi
  used=" "
  while IFS= read -r file; do
    while IFS= read -r dep; do
      [ "$dep" = "$mod" ] && continue
      used+="$dep "
      rel=${file#"$src"/}
      if [[ "${all[$mod]}" != *" $dep "* ]]; then
        echo "$rel includes still/$dep/ but $mod does not depend on $dep"
        bad=1
      elif [[ "$file" == *.h && "${public[$mod]}" != *" $dep "* ]]; then
        echo "$rel (a header) includes still/$dep/ but $mod depends on $dep only PRIVATE"
        bad=1
      fi
    done < <(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"still/\([a-z_0-9]*\)/.*|\1|p' "$file" | sort -u)
  done < <(find "$dir" -name '*.h' -o -name '*.cpp')
  for dep in ${all[$mod]}; do
    if [[ "$used" != *" $dep "* ]]; then
      echo "$mod lists $dep but includes nothing from it: drop it from still_module($mod)"
      bad=1
    fi
  done
done

if ! printf '%s' "$edges" | tsort >/dev/null 2>/tmp/check_layers.$$; then
  echo "the module dependencies form a cycle:"
  cat /tmp/check_layers.$$
  bad=1
fi
rm -f /tmp/check_layers.$$
[ $bad = 0 ] && echo "layers: $(grep -c . "$layers") modules, no violation"
exit $bad
