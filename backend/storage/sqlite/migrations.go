package sqlite

// migrations[i] brings the schema from version i to i+1. Never edit a
// released step; append a new one. Times are Unix milliseconds (0 = unset);
// lists are JSON text; hashes are SHA-256 blobs.
var migrations = [][]string{
	{
		`CREATE TABLE users (
			id TEXT PRIMARY KEY,
			username TEXT NOT NULL UNIQUE,
			nickname TEXT NOT NULL,
			avatar_url TEXT NOT NULL DEFAULT '',
			password_hash TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE TABLE apps (
			appid TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			icon_url TEXT NOT NULL DEFAULT '',
			owner TEXT NOT NULL,
			secret_hash BLOB NOT NULL,
			redirect_uris TEXT NOT NULL,
			domains TEXT NOT NULL,
			fast_login INTEGER NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE TABLE devices (
			id TEXT PRIMARY KEY,
			user_id TEXT NOT NULL REFERENCES users(id),
			name TEXT NOT NULL,
			os TEXT NOT NULL,
			credential_hash BLOB NOT NULL UNIQUE,
			created_at BIGINT NOT NULL,
			last_seen_at BIGINT NOT NULL,
			revoked_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX devices_user ON devices(user_id)`,
		`CREATE TABLE device_auths (
			device_code_hash BLOB PRIMARY KEY,
			user_code TEXT NOT NULL UNIQUE,
			client_id TEXT NOT NULL,
			device_name TEXT NOT NULL,
			os TEXT NOT NULL,
			status TEXT NOT NULL,
			user_id TEXT NOT NULL DEFAULT '',
			device_id TEXT NOT NULL DEFAULT '',
			interval_ms BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			last_poll_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE codes (
			hash BLOB PRIMARY KEY,
			appid TEXT NOT NULL REFERENCES apps(appid),
			redirect_uri TEXT NOT NULL,
			user_id TEXT NOT NULL REFERENCES users(id),
			device_id TEXT NOT NULL,
			scope TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			used_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE tokens (
			hash BLOB PRIMARY KEY,
			kind TEXT NOT NULL,
			appid TEXT NOT NULL,
			user_id TEXT NOT NULL,
			code_hash BLOB NOT NULL,
			scope TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			revoked_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX tokens_code ON tokens(code_hash)`,
		`CREATE TABLE sessions (
			hash BLOB PRIMARY KEY,
			user_id TEXT NOT NULL REFERENCES users(id),
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		`CREATE TABLE grants (
			user_id TEXT NOT NULL,
			appid TEXT NOT NULL,
			scope TEXT NOT NULL,
			first_at BIGINT NOT NULL,
			last_at BIGINT NOT NULL,
			PRIMARY KEY (user_id, appid)
		)`,
		`CREATE TABLE events (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			user_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			appid TEXT NOT NULL,
			device_id TEXT NOT NULL,
			detail TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX events_user ON events(user_id, kind, id)`,
		`CREATE TABLE secrets (
			name TEXT PRIMARY KEY,
			value BLOB NOT NULL
		)`,
	},
	{
		// Shared by replicas: QR tickets, attempt windows; and purging.
		`CREATE TABLE qr_tickets (
			uuid TEXT PRIMARY KEY,
			appid TEXT NOT NULL,
			redirect_uri TEXT NOT NULL,
			scope TEXT NOT NULL,
			state TEXT NOT NULL,
			status INTEGER NOT NULL,
			user_id TEXT NOT NULL DEFAULT '',
			nickname TEXT NOT NULL DEFAULT '',
			head_img_url TEXT NOT NULL DEFAULT '',
			sealed_code BLOB,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		`CREATE INDEX qr_tickets_expiry ON qr_tickets(expires_at)`,
		`CREATE TABLE attempts (
			name TEXT PRIMARY KEY,
			n INTEGER NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		`CREATE INDEX attempts_expiry ON attempts(expires_at)`,
		`CREATE INDEX sessions_expiry ON sessions(expires_at)`,
		`CREATE INDEX device_auths_expiry ON device_auths(expires_at)`,
	},
	{
		// Purge deletes expired tokens and codes and old events.
		`CREATE INDEX codes_expiry ON codes(expires_at)`,
		`CREATE INDEX tokens_expiry ON tokens(expires_at)`,
		`CREATE INDEX events_created ON events(created_at)`,
		// The approval page shows where an enrolment was started from.
		`ALTER TABLE device_auths ADD COLUMN request_ip TEXT NOT NULL DEFAULT ''`,
	},
	{
		// The OpenID Connect face: public clients, per-app id_token
		// algorithms, codes bound to a nonce and PKCE, the face of every
		// code and token, pending authorization requests, signing keys.
		`ALTER TABLE apps ADD COLUMN public INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE apps ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE codes ADD COLUMN face TEXT NOT NULL DEFAULT 'wechat'`,
		`ALTER TABLE codes ADD COLUMN nonce TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE codes ADD COLUMN code_challenge TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE codes ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE codes ADD COLUMN amr TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE tokens ADD COLUMN face TEXT NOT NULL DEFAULT 'wechat'`,
		`CREATE TABLE auth_requests (
			id TEXT PRIMARY KEY,
			client_id TEXT NOT NULL,
			data TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		`CREATE INDEX auth_requests_expiry ON auth_requests(expires_at)`,
		`CREATE TABLE signing_keys (
			kid TEXT PRIMARY KEY,
			alg TEXT NOT NULL,
			sealed BLOB NOT NULL,
			public_jwk TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			sign_from BIGINT NOT NULL
		)`,
	},
	{
		// Desktop apps that sign in through the daemon: per-app consent,
		// the session_key (sealed), and users' sealed phone numbers.
		`ALTER TABLE users ADD COLUMN phone_sealed BLOB`,
		`CREATE TABLE app_consents (
			user_id TEXT NOT NULL,
			appid TEXT NOT NULL,
			login_at BIGINT NOT NULL,
			phone_at BIGINT NOT NULL,
			session_key BLOB,
			session_at BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (user_id, appid)
		)`,
	},
	{
		// December review: an OIDC request yields one code (used_at);
		// token families outlive their code and carry its device, so every
		// revocation and rotation goes by family (locked in PostgreSQL);
		// rotated is not revoked; apps without an owner of their own stop
		// sharing one unionid (each becomes its own owner).
		`ALTER TABLE auth_requests ADD COLUMN used_at BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE tokens ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0`,
		`CREATE TABLE families (
			id BLOB PRIMARY KEY,
			appid TEXT NOT NULL,
			user_id TEXT NOT NULL,
			device_id TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			revoked_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX families_device ON families(device_id)`,
		`CREATE INDEX families_user_app ON families(user_id, appid)`,
		`CREATE INDEX families_created ON families(created_at)`,
		`INSERT INTO families (id, appid, user_id, device_id, created_at)
			SELECT t.code_hash, min(t.appid), min(t.user_id), coalesce((SELECT c.device_id FROM codes c WHERE c.hash = t.code_hash), ''), min(t.created_at)
			FROM tokens t GROUP BY t.code_hash`,
		`UPDATE apps SET owner = 'app:' || appid WHERE owner = 'default'`,
		// The id_token lifetime the servers use, kept with the keys so that
		// pruning by any process (keys rotate) waits for the servers' tokens.
		`ALTER TABLE signing_keys ADD COLUMN token_ttl_ms BIGINT NOT NULL DEFAULT 0`,
		// Operators: roles, and accounts an operator disabled.
		`ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0`,
		`CREATE INDEX sessions_user ON sessions(user_id)`,
		`CREATE INDEX codes_user ON codes(user_id)`,
		// Operators: a rotated secret's grace period, disabled apps.
		`ALTER TABLE apps ADD COLUMN old_secret_hash BLOB`,
		`ALTER TABLE apps ADD COLUMN old_secret_until BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE apps ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0`,
	},
	// The sign-in log: how, from where, with what outcome; indexes for
	// the operators' filters (time, person, app, address).
	{
		`ALTER TABLE events ADD COLUMN method TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE events ADD COLUMN face TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE events ADD COLUMN addr TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE events ADD COLUMN addr_key BLOB`,
		`ALTER TABLE events ADD COLUMN country TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE events ADD COLUMN result TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE events ADD COLUMN reason TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX events_time ON events(created_at, id)`,
		`CREATE INDEX events_user_time ON events(user_id, created_at, id)`,
		`CREATE INDEX events_app_time ON events(appid, created_at, id)`,
		`CREATE INDEX events_addr ON events(addr_key)`,
		`CREATE INDEX events_result_time ON events(result, created_at, id)`,
		// Web sessions end after a while unused (the idle timeout).
		`ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0`,
		// Per-app fences: the client ranges and countries it may be signed in to from.
		`ALTER TABLE apps ADD COLUMN fence TEXT NOT NULL DEFAULT '{}'`,
		// The alert webhook's outbox.
		`CREATE TABLE webhook_outbox (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			user_id TEXT NOT NULL,
			body BLOB NOT NULL,
			created_at BIGINT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_at BIGINT NOT NULL,
			lease_until BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX webhook_outbox_user ON webhook_outbox(user_id, id)`,
		// One-time password reset links an operator hands out.
		`CREATE TABLE password_resets (
			hash BLOB PRIMARY KEY,
			user_id TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
	},
	{
		// The console's Desktops page shows where each desktop was last used.
		`ALTER TABLE devices ADD COLUMN last_addr TEXT NOT NULL DEFAULT ''`,
	},
	{
		// People linked to a directory or provider (connectors).
		`CREATE TABLE identities (
			connector_id TEXT NOT NULL,
			subject TEXT NOT NULL,
			user_id TEXT NOT NULL,
			username TEXT NOT NULL,
			groups_json TEXT NOT NULL,
			data BLOB,
			created_at INTEGER NOT NULL,
			checked_at INTEGER NOT NULL,
			PRIMARY KEY (connector_id, subject)
		)`,
		`CREATE INDEX identities_user ON identities(user_id)`,
	},
	{
		// Second factors: authenticator apps (secrets sealed) and their
		// recovery codes (hashed).
		`CREATE TABLE totp (
			user_id TEXT PRIMARY KEY,
			secret_sealed BLOB NOT NULL,
			created_at INTEGER NOT NULL,
			last_step INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE recovery_codes (
			hash BLOB PRIMARY KEY,
			user_id TEXT NOT NULL,
			used_at INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX recovery_codes_user ON recovery_codes(user_id)`,
	},
	{
		// Passkeys (WebAuthn credentials), the challenges of passkey
		// sign-ins answered, how each web session signed in, and which
		// computer shows each QR code.
		`CREATE TABLE passkeys (
			id BLOB PRIMARY KEY,
			user_id TEXT NOT NULL,
			name TEXT NOT NULL,
			credential BLOB NOT NULL,
			sign_count INTEGER NOT NULL DEFAULT 0,
			backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
			backup_state BOOLEAN NOT NULL DEFAULT FALSE,
			created_at INTEGER NOT NULL,
			last_used_at INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX passkeys_user ON passkeys(user_id)`,
		`CREATE TABLE spent_challenges (
			hash BLOB PRIMARY KEY,
			expires_at INTEGER NOT NULL
		)`,
		`ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE qr_tickets ADD COLUMN computer TEXT NOT NULL DEFAULT ''`,
		// An install from before passwords needed a second factor keeps
		// taking a password alone until its operator says otherwise
		// (serve --password-signin); a new one (no people, no apps yet)
		// asks for the second factor.
		`INSERT INTO secrets (name, value) SELECT 'password-signin-default', CAST('on' AS BLOB)
			WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM apps)`,
	},
	{
		// The key a desktop proves possession of with every call (RFC 9449
		// DPoP): its thumbprint, once bound, and where the key lives.
		`ALTER TABLE devices ADD COLUMN jkt TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE devices ADD COLUMN key_protection TEXT NOT NULL DEFAULT ''`,
	},
	{
		// The desktop's latest posture report (JSON of posture.Report).
		`ALTER TABLE devices ADD COLUMN posture TEXT NOT NULL DEFAULT ''`,
		// The acr an OpenID Connect sign-in earns (the desktop's key).
		`ALTER TABLE codes ADD COLUMN acr TEXT NOT NULL DEFAULT ''`,
	},
}
