#!/usr/bin/env bash
# Runs the cdktf CLI quietly and for the stacks named: `npm run deploy -- training --var create_instance=true`.
#
# - CHECKPOINT_DISABLE=1: no call to HashiCorp's version-check service (a red ENOTFOUND error without network).
# - GTI_STACKS=<the stack names given>: the app then synthesizes even when another env file is broken (its problems
#   are printed, its stack is not written), since each stack depends on its own env file only. Without stack names
#   (or run as plain `npx cdktf deploy training`), any broken env file stops the run. See docs/configuration.md.
#
# Usage: scripts/cdktf.sh <cdktf command> [stack ...] [cdktf options]
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <deploy|diff|destroy|synth|output|list> [stack ...] [cdktf options]" >&2
  exit 2
fi
command=$1
shift

# Options of cdktf deploy/diff/destroy that take a value as the next argument (--opt=value needs no special case).
takes_value=" --app -a --output -o --outputs-file --parallelism --terraform-parallelism --var --var-file --log-level "
stacks=()
skip_next=0
for arg in "$@"; do
  if [[ $skip_next -eq 1 ]]; then
    skip_next=0
  elif [[ $takes_value == *" $arg "* ]]; then
    skip_next=1
  elif [[ $arg != -* ]]; then
    stacks+=("$arg")
  fi
done

export CHECKPOINT_DISABLE=1
if [[ ${#stacks[@]} -gt 0 ]]; then
  GTI_STACKS=$(IFS=,; echo "${stacks[*]}")
  export GTI_STACKS
fi
exec "$(cd "$(dirname "$0")/.." && pwd)/node_modules/.bin/cdktf" "$command" "$@"
