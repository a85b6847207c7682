#!/usr/bin/env bash
# Starts the gpud enclave on this parent: CID 16, the program listening on vsock port 5000
# (secure.enclaveCid / secure.enclavePort in the parent's config). Production: no --debug-mode
# (a debug enclave reports all-zero PCRs, which gpud and the KMS policy refuse).
set -euo pipefail
eif="${1:-/usr/share/gpud/gpud-enclave.eif}"
nitro-cli run-enclave --eif-path "$eif" --cpu-count 2 --memory 2048 --enclave-cid 16
nitro-cli describe-enclaves
