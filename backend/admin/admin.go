// Package admin holds the operator actions of scanfree-server's CLI:
// registering apps and users and managing enrolled devices. They work on
// the storage directly, so they run beside a live server on the same DB.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/rules"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// AppSpec describes an app to register.
type AppSpec struct {
	Name         string
	IconURL      string
	Owner        string // apps of one owner share unionids; empty: the app is its own owner ("app:<appid>")
	RedirectURIs []string
	Domains      []string
	FastLogin    bool
	// Public registers an app without a secret (a native or single-page
	// OpenID Connect client), which must use PKCE.
	Public bool
	// IDTokenAlg is RS256 (the default) or ES256.
	IDTokenAlg string
	// Fence limits where the app may be signed in to from (CIDR ranges,
	// ISO 3166 country codes).
	Fence storage.Fence
	// AllowDuplicateName registers the app even when another has its name.
	AllowDuplicateName bool
	// Operator, when set, names who registered it in the audit log.
	Operator string
}

// NewApp is a registered app with its secret, which is shown once and
// stored only as a hash.
type NewApp struct {
	AppID  string `json:"appid"`
	Secret string `json:"secret,omitempty"` // empty for a public app
	Name   string `json:"name"`
}

// check validates and normalizes spec (name, redirect URIs, domains,
// id_token algorithm), for op's messages.
func (spec *AppSpec) check(op string) error {
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || len(spec.Name) > 100 {
		return fmt.Errorf("%s: --name must be 1 to 100 characters", op)
	}
	if len(spec.RedirectURIs) == 0 && len(spec.Domains) == 0 {
		return fmt.Errorf("%s: give at least one --redirect-uri or --domain", op)
	}
	for _, u := range spec.RedirectURIs {
		if err := rules.RegisteredURI(u); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	for i, d := range spec.Domains {
		d = strings.ToLower(d)
		host, port, hasPort := strings.Cut(d, ":")
		host = strings.TrimSuffix(host, ".")
		if n, err := strconv.Atoi(port); !domainRE.MatchString(host) || (hasPort && (err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port)) {
			return fmt.Errorf("%s: --domain %q: want a host name such as shop.example.com, with a port when it is not the scheme's default (shop.localhost:8081), without scheme or path", op, spec.Domains[i])
		}
		if hasPort {
			host += ":" + port
		}
		spec.Domains[i] = host
	}
	if err := checkFence(&spec.Fence); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch spec.IDTokenAlg {
	case "":
		spec.IDTokenAlg = "RS256"
	case "RS256", "ES256":
	default:
		return fmt.Errorf("%s: --id-token-alg %q: use RS256 or ES256", op, spec.IDTokenAlg)
	}
	return nil
}

// checkFence validates and normalizes f: ranges as CIDR (an address is
// its /32 or /128), countries as two upper-case letters.
func checkFence(f *storage.Fence) error {
	for i, c := range f.CIDRs {
		c = strings.TrimSpace(c)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return fmt.Errorf("--allow-cidr %q: want a CIDR range such as 10.0.0.0/8 or an address", c)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		f.CIDRs[i] = p.Masked().String()
	}
	for i, c := range f.Countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return fmt.Errorf("--allow-country %q: want an ISO 3166 code of two letters, such as CN or SG", f.Countries[i])
		}
		f.Countries[i] = c
	}
	for i, g := range f.Groups {
		if f.Groups[i] = strings.TrimSpace(g); f.Groups[i] == "" {
			return errors.New("--require-group \"\": name a directory group, or give --require-group \"\" alone to lift the requirement")
		}
	}
	if f.PasswordSignin != "" && !f.PasswordSignin.Valid() {
		return fmt.Errorf("--password-signin %q: use on, second-factor or off (\"\" follows the server's)", f.PasswordSignin)
	}
	switch f.Device.RequireKey {
	case "", "software", "platform", "tpm":
	default:
		return fmt.Errorf("--require-key %q: use tpm, platform or software (\"\" lifts it)", f.Device.RequireKey)
	}
	for os, v := range f.Device.MinOS {
		if err := checkMinOS(os, v); err != nil {
			return err
		}
	}
	return nil
}

// ParseMinOS reads --min-os: OS:VERSION pairs separated by commas
// ("linux:6.1,windows:10.0.19045,darwin:14"); "" lifts every minimum.
func ParseMinOS(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		os, v, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok {
			return nil, fmt.Errorf("--min-os %q: want OS:VERSION pairs such as linux:6.1,windows:10.0.19045,darwin:14", s)
		}
		if err := checkMinOS(os, v); err != nil {
			return nil, err
		}
		if _, dup := out[os]; dup {
			return nil, fmt.Errorf("--min-os %q: %s is named twice", s, os)
		}
		out[os] = v
	}
	return out, nil
}

func checkMinOS(os, v string) error {
	switch os {
	case "linux", "windows", "darwin":
	default:
		return fmt.Errorf("--min-os: %q is no OS scanfreed runs on; use linux, windows or darwin", os)
	}
	if !minVersionRE.MatchString(v) {
		return fmt.Errorf("--min-os %s:%q: want a version of numbers and dots, such as 6.1 or 10.0.19045", os, v)
	}
	return nil
}

var minVersionRE = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)

var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// CreateApp registers an app.
func CreateApp(ctx context.Context, st storage.Storage, spec AppSpec, now time.Time) (NewApp, error) {
	if err := spec.check("create app"); err != nil {
		return NewApp{}, err
	}
	// People see the name in the dialog and on their account page: two
	// apps of one name would be told apart by nobody.
	if !spec.AllowDuplicateName {
		apps, err := st.ListApps(ctx)
		if err != nil {
			return NewApp{}, fmt.Errorf("create app: %w", err)
		}
		for _, o := range apps {
			if strings.EqualFold(o.Name, spec.Name) {
				return NewApp{}, fmt.Errorf("create app: an app named %q exists already (%s); pick another name, or pass --allow-duplicate-name", o.Name, o.AppID)
			}
		}
	}
	id := "wx" + strings.ToLower(strings.NewReplacer("-", "0", "_", "1").Replace(secret.Code()[:16]))
	// No shared default: unrelated relying parties given one owner by
	// accident would learn that their users are the same people.
	if spec.Owner == "" {
		spec.Owner = storage.OwnOwner(id)
	}
	sec, hash := "", []byte(nil)
	if !spec.Public {
		sec = secret.Code()
		hash = secret.Hash(sec)
	}
	err := st.CreateApp(ctx, storage.App{AppID: id, Name: spec.Name, IconURL: spec.IconURL, Owner: spec.Owner,
		SecretHash: hash, RedirectURIs: spec.RedirectURIs, Domains: spec.Domains, FastLogin: spec.FastLogin,
		Public: spec.Public, IDTokenAlg: spec.IDTokenAlg, CreatedAt: now, Fence: spec.Fence})
	if err != nil {
		return NewApp{}, err
	}
	if spec.Operator != "" {
		if err := st.AddEvent(ctx, storage.Event{Kind: "app_created", AppID: id, Detail: spec.Name + " registered by " + spec.Operator, CreatedAt: now}); err != nil {
			return NewApp{}, err
		}
	}
	return NewApp{AppID: id, Secret: sec, Name: spec.Name}, nil
}

// UserSpec describes an account to create.
type UserSpec struct {
	Username  string
	Nickname  string
	AvatarURL string
	Password  string
	// Phone is a verified phone number, "+86 13580006666"; sealed with
	// DataKey, which it then needs.
	Phone   string
	DataKey []byte
	// Operator, when set, names who created the account in the audit log.
	Operator string
}

// Phone is a parsed phone number (see storage.Phone).
type Phone = storage.Phone

var phoneRE = regexp.MustCompile(`^\+([1-9][0-9]{0,3})[ -]([0-9]{4,14})$`)

// ParsePhone reads "+<country code> <number>", e.g. "+86 13580006666".
func ParsePhone(s string) (Phone, error) {
	m := phoneRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Phone{}, fmt.Errorf("--phone %q: want +<country code> <number>, e.g. \"+86 13580006666\"", s)
	}
	return Phone{CountryCode: m[1], Pure: m[2]}, nil
}

// PhonePurpose seals phone numbers in the store.
const PhonePurpose = secret.PurposePhone

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// UsernameOK reports whether name is a valid username: 1 to 64 lowercase
// letters, digits, '.', '_' or '-', starting with a letter or digit.
func UsernameOK(name string) bool { return usernameRE.MatchString(name) }

// SealPhone checks phone and seals it for userID with dataKey, as the
// store keeps it (storage.User.PhoneSealed).
func SealPhone(dataKey []byte, userID, phone string) ([]byte, error) {
	p, err := ParsePhone(phone)
	if err != nil {
		return nil, err
	}
	if len(dataKey) == 0 {
		return nil, errors.New("a phone number is stored sealed with the data key: set --data-key-file")
	}
	j, _ := json.Marshal(p)
	return secret.Seal(dataKey, PhonePurpose, j, []byte(userID)), nil
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// CreateUser creates an account with an argon2id password hash.
func CreateUser(ctx context.Context, st storage.Storage, spec UserSpec, now time.Time) (storage.User, error) {
	if !usernameRE.MatchString(spec.Username) {
		return storage.User{}, fmt.Errorf("create user: --username %q: use 1 to 64 lowercase letters, digits, '.', '_' or '-'", spec.Username)
	}
	spec.Nickname = strings.TrimSpace(spec.Nickname)
	if spec.Nickname == "" || len(spec.Nickname) > 100 {
		return storage.User{}, errors.New("create user: --nickname must be 1 to 100 characters")
	}
	if len(spec.Password) < MinPasswordLen {
		return storage.User{}, fmt.Errorf("create user: the password must have at least %d characters", MinPasswordLen)
	}
	u := storage.User{ID: "usr_" + secret.Code()[:16], Username: spec.Username, Nickname: spec.Nickname,
		AvatarURL: spec.AvatarURL, PasswordHash: secret.HashPassword(spec.Password), CreatedAt: now}
	if spec.Phone != "" {
		sealed, err := SealPhone(spec.DataKey, u.ID, spec.Phone)
		if err != nil {
			return storage.User{}, fmt.Errorf("create user: %w", err)
		}
		u.PhoneSealed = sealed
	}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return u, fmt.Errorf("create user: username %q is taken", spec.Username)
		}
		return u, err
	}
	if spec.Operator != "" {
		if err := st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "user_created", Detail: "created by " + spec.Operator, CreatedAt: now}); err != nil {
			return u, err
		}
	}
	return u, nil
}

// ApproveDevice approves the pending device authorization with userCode
// for the named user, as an admin would on the user's behalf.
func ApproveDevice(ctx context.Context, st storage.Storage, username, userCode string, now time.Time) (storage.DeviceAuth, error) {
	u, err := st.GetUserByUsername(ctx, username)
	if err != nil {
		return storage.DeviceAuth{}, fmt.Errorf("approve device: no user %q (see `scanfree-server user list`)", username)
	}
	if !u.Active() {
		return storage.DeviceAuth{}, fmt.Errorf("approve device: %s is disabled; `scanfree-server user enable %s` first", username, username)
	}
	code, ok := secret.NormalizeUserCode(userCode)
	if !ok {
		return storage.DeviceAuth{}, fmt.Errorf("approve device: %q is not a user code (8 letters, e.g. BCDF-GHJK)", userCode)
	}
	da, err := st.GetDeviceAuthByUserCode(ctx, code)
	if errors.Is(err, storage.ErrNotFound) {
		return da, fmt.Errorf("approve device: no device is waiting with code %s; check the code the desktop shows", secret.FormatUserCode(code))
	}
	if err != nil {
		return da, err
	}
	if !now.Before(da.ExpiresAt) {
		return da, fmt.Errorf("approve device: code %s expired; run `scanfreed login` again", secret.FormatUserCode(code))
	}
	if err := st.DecideDeviceAuth(ctx, code, u.ID, true); err != nil {
		if errors.Is(err, storage.ErrNotPending) {
			return da, fmt.Errorf("approve device: code %s was already %s", secret.FormatUserCode(code), da.Status)
		}
		return da, err
	}
	if err := st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "device_approved", Detail: da.DeviceName + " (" + da.OS + ") approved by an admin", CreatedAt: now}); err != nil {
		return da, err
	}
	da.UserID = u.ID
	da.Status = storage.DeviceAuthApproved
	return da, nil
}

// RevokeDevice revokes an enrolled device.
func RevokeDevice(ctx context.Context, st storage.Storage, id string, now time.Time) (storage.Device, error) {
	d, err := st.GetDevice(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return d, fmt.Errorf("revoke device: no device %q (see `scanfree-server device list`)", id)
	}
	if err != nil {
		return d, err
	}
	if err := st.RevokeDevice(ctx, id, now); err != nil {
		return d, err
	}
	if err := st.AddEvent(ctx, storage.Event{UserID: d.UserID, Kind: "device_revoked", DeviceID: d.ID, Detail: d.Name + " revoked by an admin", CreatedAt: now}); err != nil {
		return d, err
	}
	return st.GetDevice(ctx, id)
}
