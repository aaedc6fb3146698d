#!/usr/bin/env bash
# Interoperability test: Keyturn's tokens and bundles verify, signature by signature,
# with jose; a token signed with jose's GeneralSign is accepted by keyturn-agent verify.
# Usage: run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
keyturn="$build/cli/keyturn"
agent="$build/agent/keyturn-agent"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -d "$here/node_modules/jose" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

now=1764300000
cd "$work"
for who in alice bob issuer; do "$keyturn" key new --id "$who" >/dev/null; done
cat > roster.json <<JSON
{"tenant":"contoso","issuers":["issuer.pub.json"],
 "principals":[{"id":"alice","groups":["maa-admins"],"keys":["alice.pub.json"]},
               {"id":"bob","groups":["maa-admins","device-approvers"],"keys":["bob.pub.json"]}],
 "update":{"group":"maa-admins","threshold":2}}
JSON
mkdir policies
cat > policies/wipe.lua <<'LUA'
return { name = "wipe", actions = { "device.wipe" },
  evaluate = function(req, device) return { approvals = 1, group = "device-approvers" } end }
LUA
"$keyturn" bundle new --roster roster.json --policies policies --version 1 --issued $((now - 60)) \
  --expires $((now + 86400 * 90)) --out bundle.json >/dev/null
"$keyturn" bundle sign --bundle bundle.json --key alice.key --at $now >/dev/null
"$keyturn" bundle sign --bundle bundle.json --key bob.key --at $now >/dev/null
"$agent" trust init --state state --bundle bundle.json --now $now >/dev/null

echo "== a bundle made by keyturn, checked by jose"
node "$here/interop.mjs" verify-each bundle.json bundle.json

"$keyturn" request new --tenant contoso --id r-interop-1 --action device.wipe --param mode=full \
  --target dev-1 --target dev-2 --target dev-3 --requester alice --justification "interop test" \
  --bundle-version 1 --created $now --out request.json >/dev/null
"$keyturn" request sign --request request.json --key alice.key --role requester --at $((now + 1)) >/dev/null
"$keyturn" request sign --request request.json --key bob.key --role approver --at $((now + 2)) >/dev/null
"$keyturn" request sign --request request.json --key alice.key --role completer --at $((now + 3)) >/dev/null
"$keyturn" issue --request request.json --key issuer.key --device dev-2 --nbf $now --out token.json >/dev/null

echo "== a token made by keyturn, checked by jose"
node "$here/interop.mjs" verify-each token.json bundle.json

echo "== the same token with one signature bent must fail in jose too"
node -e '
const fs = require("fs"); const t = JSON.parse(fs.readFileSync("token.json"));
const s = Buffer.from(t.signatures[1].signature, "base64url"); s[0] ^= 1;
t.signatures[1].signature = s.toString("base64url"); fs.writeFileSync("bent.json", JSON.stringify(t));'
if node "$here/interop.mjs" verify-each bent.json bundle.json; then
  echo "FAIL: jose accepted a bent signature"; exit 1
fi

echo "== a token signed by jose GeneralSign, checked by keyturn-agent verify"
cat > plan.json <<JSON
{"tenant":"contoso","id":"r-interop-2","action":"device.wipe","params":{"mode":"full"},
 "targets":["dev-3","dev-1","dev-2"],"requester":"alice","justification":"signed with jose",
 "created":$now,"expires":$((now + 86400 * 30)),"bundle":1,
 "requesterKey":"alice.key","approverKeys":["bob.key"],"issuerKey":"issuer.key",
 "device":"dev-3","nbf":$now,"exp":$((now + 3600))}
JSON
node "$here/interop.mjs" sign-token plan.json jose-token.json
echo '{"id":"dev-3","ownership":"corporate"}' > facts.json
out=$("$agent" verify --state state --token jose-token.json --facts facts.json --now $((now + 10)))
echo "$out"
case "$out" in *'"decision":"accept"'*) ;; *) echo "FAIL: keyturn-agent refused the jose token"; exit 1;; esac

echo "== and refuses the jose token on another device"
echo '{"id":"dev-1"}' > other.json
set +e
out=$("$agent" verify --state state --token jose-token.json --facts other.json --now $((now + 10)))
rc=$?
set -e
echo "$out"
[ $rc -eq 1 ] && case "$out" in *'"reason":"wrong_device"'*) true;; *) false;; esac || { echo "FAIL"; exit 1; }
