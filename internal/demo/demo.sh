#!/bin/sh
# make demo: run scanfree locally. State lives in $STATE and is reused by
# the next run; delete it to start over. Stop with Ctrl-C.
set -eu
STATE=${STATE:-.state/demo}
BIN=${BIN:-bin}
ADDR=${SCANFREE_DEMO_ADDR:-127.0.0.1:8080}
PUBLIC=${SCANFREE_DEMO_PUBLIC_URL:-http://idp.localhost:8080}
DB="$STATE/server.db"
srv="$BIN/scanfree-server"

mkdir -p "$STATE"
chmod 700 "$STATE"
if [ ! -s "$STATE/app.json" ]; then
	# The secret is printed once; keep it for the demo shop.
	umask 077
	"$srv" app create --db "$DB" --name "Demo Shop" --redirect-uri http://shop.localhost:8081/callback --json >"$STATE/app.json.tmp"
	mv "$STATE/app.json.tmp" "$STATE/app.json"
fi
if [ ! -s "$STATE/alice-password" ]; then
	umask 077
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/alice-password"
	"$srv" user create --db "$DB" --username alice --nickname Alice --password-stdin <"$STATE/alice-password"
fi
appid=$(sed -n 's/.*"appid": "\(.*\)".*/\1/p' "$STATE/app.json")

cat <<MSG

scanfree demo — backend on $PUBLIC (listening on $ADDR), database $DB

  Demo Shop appid:  $appid   (secret in $STATE/app.json)
  User:             alice / $(cat "$STATE/alice-password")

Try it:
  open $PUBLIC/login and sign in as alice (then /account)
  enrol a desktop with the device flow:
    curl -s -d client_id=scanfree-desktop -d device_name=laptop -d os=linux $PUBLIC/oauth2/device_authorization
    $srv device approve --db $DB --user alice --code <user_code>
  then follow README.md ("A newcomer's path") to mint and exchange a code.

Stop with Ctrl-C. The next run reuses $STATE.
MSG
exec "$srv" serve --db "$DB" --addr "$ADDR" --public-url "$PUBLIC"
