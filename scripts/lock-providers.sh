#!/usr/bin/env bash
# Writes terraform/.terraform.lock.hcl: the exact provider versions and their hashes for
# every platform that applies this configuration (Cloud Build's linux_amd64, and operators'
# laptops). Commit the result; Cloud Build's `terraform init -lockfile=readonly` then uses
# exactly these. Needs registry.terraform.io (this repository's build machine cannot reach it).
set -euo pipefail
cd "$(dirname "$0")/../terraform"
terraform providers lock \
  -platform=linux_amd64 \
  -platform=linux_arm64 \
  -platform=darwin_amd64 \
  -platform=darwin_arm64
echo "terraform/.terraform.lock.hcl written: commit it"
