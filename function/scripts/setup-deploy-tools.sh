#!/usr/bin/env bash
# Installs the deployment tools from PyPI into the git-ignored .venv-deploy: the AWS SAM CLI
# (`sam build`, `sam validate --lint`, `sam deploy`) and cfn-lint, both pinned; idempotent.
# tests/deploy/sam.sh runs them offline; `sam deploy` needs AWS credentials, nothing else does.
#
# Usage: function/scripts/setup-deploy-tools.sh   (then put <repo>/.venv-deploy/bin on PATH)
set -euo pipefail
SAM_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$repo/.venv-deploy"
stamp="$venv/.installed-sam-$SAM_VERSION-cfn-lint-$CFN_LINT_VERSION"

if [[ -f "$stamp" && -x "$venv/bin/sam" && -x "$venv/bin/cfn-lint" ]]; then
  echo "AWS SAM CLI $SAM_VERSION and cfn-lint $CFN_LINT_VERSION already in $venv"
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "aws-sam-cli==$SAM_VERSION" "cfn-lint==$CFN_LINT_VERSION"
touch "$stamp"
echo "AWS SAM CLI $SAM_VERSION and cfn-lint $CFN_LINT_VERSION installed in $venv"
