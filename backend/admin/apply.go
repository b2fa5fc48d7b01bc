package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Config is the declarative configuration `scanfree-server apply -f`
// reads (Dex's staticClients and Keycloak's realm import are the
// models): apps and people as they should be. Applying it twice changes
// nothing the second time. It never holds a secret: an app's secret comes
// from a file or an environment variable it names.
type Config struct {
	Apps   []AppConfig    `yaml:"apps"`
	People []PersonConfig `yaml:"people"`
}

// AppConfig is one app. AppID picks the app to update; without it the app
// of the same name is updated, or a new one registered.
type AppConfig struct {
	AppID          string   `yaml:"appid"`
	Name           string   `yaml:"name"`
	IconURL        string   `yaml:"icon_url"`
	Owner          string   `yaml:"owner"`
	RedirectURIs   []string `yaml:"redirect_uris"`
	Domains        []string `yaml:"domains"`
	FastLogin      *bool    `yaml:"fast_login"` // default true
	Public         bool     `yaml:"public"`
	IDTokenAlg     string   `yaml:"id_token_alg"`
	AllowCIDRs     []string `yaml:"allow_cidrs"`
	AllowCountries []string `yaml:"allow_countries"`
	RequireGroups  []string `yaml:"require_groups"`
	// The desktop policy, as app edit's flags: require_key (tpm,
	// platform or software), require_disk_encryption, and min_os in
	// --min-os's form ("linux:6.1,windows:10.0.19045,darwin:14").
	RequireKey            string `yaml:"require_key"`
	RequireDiskEncryption bool   `yaml:"require_disk_encryption"`
	MinOS                 string `yaml:"min_os"`
	// PasswordSignin is the app's password policy: on, second-factor or
	// off; empty follows the server's.
	PasswordSignin string `yaml:"password_signin"`
	Disabled       bool   `yaml:"disabled"`
	// SecretFile or SecretEnv names where the app's secret is (its server
	// is configured with the same one); neither: a new app's secret is
	// made and printed once, an existing app's is kept.
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
}

// PersonConfig is one person, created without a password (an operator
// gives one with `user reset-password`, or she signs in another way).
type PersonConfig struct {
	Username  string `yaml:"username"`
	Nickname  string `yaml:"nickname"`
	AvatarURL string `yaml:"avatar_url"`
	Role      string `yaml:"role"` // admin, auditor or none (the default)
	Disabled  bool   `yaml:"disabled"`
}

// ParseConfig reads a configuration; an unknown key is an error naming it
// (a typo must not silently leave an app open).
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("read configuration: %w", err)
	}
	return c, nil
}

// Change is one change apply makes (or would make, with a dry run).
type Change struct {
	What   string `json:"what"`             // e.g. "create app", "update app", "set role"
	Name   string `json:"name"`             // the app's name or the username
	Detail string `json:"detail,omitempty"` // what changes
	// Secret is a new app's secret, made by apply: printed once.
	Secret string `json:"secret,omitempty"`
}

// Apply makes the store match c and returns the changes; with dryRun it
// only returns them. Every app and person is checked before anything is
// changed, so a bad entry changes nothing.
func Apply(ctx context.Context, st storage.Storage, c Config, dryRun bool, operator string, now time.Time) ([]Change, error) {
	apps, err := st.ListApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	type planned struct {
		cfg      AppConfig
		spec     AppSpec
		existing *storage.App
		secret   string
	}
	var plan []planned
	for i, ac := range c.Apps {
		spec := AppSpec{Name: ac.Name, IconURL: ac.IconURL, Owner: ac.Owner, RedirectURIs: ac.RedirectURIs, Domains: ac.Domains,
			FastLogin: ac.FastLogin == nil || *ac.FastLogin, Public: ac.Public, IDTokenAlg: ac.IDTokenAlg,
			Fence: storage.Fence{CIDRs: ac.AllowCIDRs, Countries: ac.AllowCountries, Groups: ac.RequireGroups, PasswordSignin: storage.PasswordPolicy(ac.PasswordSignin),
				Device: storage.DevicePolicy{RequireKey: ac.RequireKey, RequireDiskEncryption: ac.RequireDiskEncryption}}}
		if spec.Fence.Device.MinOS, err = ParseMinOS(ac.MinOS); err != nil {
			return nil, fmt.Errorf("apps[%d] (%s): min_os: %w", i, ac.Name, err)
		}
		if err := spec.check(fmt.Sprintf("apps[%d] (%s)", i, ac.Name)); err != nil {
			return nil, err
		}
		p := planned{cfg: ac, spec: spec}
		for j := range apps {
			if (ac.AppID != "" && apps[j].AppID == ac.AppID) || (ac.AppID == "" && strings.EqualFold(apps[j].Name, spec.Name)) {
				p.existing = &apps[j]
			}
		}
		if ac.AppID != "" && p.existing == nil {
			return nil, fmt.Errorf("apps[%d] (%s): no app %s; leave appid out to register it", i, ac.Name, ac.AppID)
		}
		if p.secret, err = appSecret(ac); err != nil {
			return nil, fmt.Errorf("apps[%d] (%s): %w", i, ac.Name, err)
		}
		if p.existing != nil && p.existing.Public != ac.Public {
			return nil, fmt.Errorf("apps[%d] (%s): an app cannot turn public or confidential; register a new one", i, ac.Name)
		}
		plan = append(plan, p)
	}
	for i, pc := range c.People {
		if !usernameRE.MatchString(pc.Username) || strings.TrimSpace(pc.Nickname) == "" {
			return nil, fmt.Errorf("people[%d]: want a username (lowercase letters, digits, . _ -) and a nickname", i)
		}
		switch pc.Role {
		case "", "none", storage.RoleAdmin, storage.RoleAuditor:
		default:
			return nil, fmt.Errorf("people[%d] (%s): role %q: use admin, auditor or none", i, pc.Username, pc.Role)
		}
	}

	var out []Change
	for _, p := range plan {
		spec := p.spec
		if p.existing == nil {
			ch := Change{What: "create app", Name: spec.Name}
			if !dryRun {
				spec.Operator = operator
				na, err := CreateApp(ctx, st, spec, now)
				if err != nil {
					return out, err
				}
				ch.Detail, ch.Secret = na.AppID, na.Secret
				if p.secret != "" {
					if err := setSecret(ctx, st, na.AppID, p.secret); err != nil {
						return out, err
					}
					ch.Secret = ""
				}
			}
			out = append(out, ch)
			continue
		}
		a := *p.existing
		want := a
		want.Name, want.IconURL, want.RedirectURIs, want.Domains, want.FastLogin, want.IDTokenAlg, want.Fence =
			spec.Name, spec.IconURL, spec.RedirectURIs, spec.Domains, spec.FastLogin, spec.IDTokenAlg, spec.Fence
		want.Owner = spec.Owner
		if want.Owner == "" {
			want.Owner = storage.OwnOwner(a.AppID)
		}
		if diff := appDiff(a, want); diff != "" {
			out = append(out, Change{What: "update app", Name: a.Name, Detail: diff})
			if !dryRun {
				e := AppEdit{Name: &want.Name, IconURL: &want.IconURL, Owner: &spec.Owner, RedirectURIs: &want.RedirectURIs, Domains: &want.Domains,
					FastLogin: &want.FastLogin, IDTokenAlg: &want.IDTokenAlg, Fence: &want.Fence}
				if _, err := EditApp(ctx, st, a.AppID, e, operator, now); err != nil {
					return out, err
				}
			}
		}
		if p.secret != "" && !a.Public && !bytes.Equal(secret.Hash(p.secret), a.SecretHash) {
			out = append(out, Change{What: "set app secret", Name: a.Name, Detail: "from " + p.cfg.SecretFile + p.cfg.SecretEnv})
			if !dryRun {
				if err := setSecret(ctx, st, a.AppID, p.secret); err != nil {
					return out, err
				}
			}
		}
		if p.cfg.Disabled == a.Active() {
			out = append(out, Change{What: map[bool]string{true: "disable app", false: "enable app"}[p.cfg.Disabled], Name: a.Name})
			if !dryRun {
				if _, err := SetAppDisabled(ctx, st, a.AppID, p.cfg.Disabled, operator, now); err != nil {
					return out, err
				}
			}
		}
	}
	for _, pc := range c.People {
		ch, err := applyPerson(ctx, st, pc, dryRun, operator, now)
		out = append(out, ch...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// appSecret reads the secret ac names, if any.
func appSecret(ac AppConfig) (string, error) {
	var v string
	switch {
	case ac.SecretFile != "" && ac.SecretEnv != "":
		return "", errors.New("give secret_file or secret_env, not both")
	case ac.SecretFile != "":
		b, err := os.ReadFile(ac.SecretFile)
		if err != nil {
			return "", fmt.Errorf("secret_file: %w", err)
		}
		v = strings.TrimSpace(string(b))
	case ac.SecretEnv != "":
		v = strings.TrimSpace(os.Getenv(ac.SecretEnv))
		if v == "" {
			return "", fmt.Errorf("secret_env: $%s is empty or not set", ac.SecretEnv)
		}
	default:
		return "", nil
	}
	if ac.Public {
		return "", errors.New("a public app has no secret; drop secret_file/secret_env")
	}
	if len(v) < 16 {
		return "", errors.New("the secret must have at least 16 characters")
	}
	return v, nil
}

// setSecret replaces appID's secret with sec at once (no grace period: the
// configuration says what the secret is now).
func setSecret(ctx context.Context, st storage.Storage, appID, sec string) error {
	a, err := st.GetApp(ctx, appID)
	if err != nil {
		return err
	}
	a.SecretHash, a.OldSecretHash, a.OldSecretUntil = secret.Hash(sec), nil, time.Time{}
	return st.UpdateApp(ctx, a)
}

// appDiff says what differs between an app and what it should be.
func appDiff(a, b storage.App) string {
	var d []string
	add := func(field string, from, to any) {
		if fmt.Sprint(from) != fmt.Sprint(to) {
			d = append(d, fmt.Sprintf("%s %v -> %v", field, from, to))
		}
	}
	add("name", a.Name, b.Name)
	add("icon_url", a.IconURL, b.IconURL)
	add("owner", a.Owner, b.Owner)
	add("redirect_uris", a.RedirectURIs, b.RedirectURIs)
	add("domains", a.Domains, b.Domains)
	add("fast_login", a.FastLogin, b.FastLogin)
	add("id_token_alg", a.IDTokenAlg, b.IDTokenAlg)
	add("allow_cidrs", a.Fence.CIDRs, b.Fence.CIDRs)
	add("allow_countries", a.Fence.Countries, b.Fence.Countries)
	add("require_groups", a.Fence.Groups, b.Fence.Groups)
	add("password_signin", a.Fence.PasswordSignin, b.Fence.PasswordSignin)
	add("require_key", a.Fence.Device.RequireKey, b.Fence.Device.RequireKey)
	add("require_disk_encryption", a.Fence.Device.RequireDiskEncryption, b.Fence.Device.RequireDiskEncryption)
	add("min_os", a.Fence.Device.MinOS, b.Fence.Device.MinOS)
	return strings.Join(d, "; ")
}

// applyPerson creates pc's account (without a password) or brings its
// name, picture, role and state to pc.
func applyPerson(ctx context.Context, st storage.Storage, pc PersonConfig, dryRun bool, operator string, now time.Time) ([]Change, error) {
	role := pc.Role
	if role == "none" {
		role = ""
	}
	u, err := st.GetUserByUsername(ctx, pc.Username)
	if errors.Is(err, storage.ErrNotFound) {
		out := []Change{{What: "create user", Name: pc.Username, Detail: "without a password"}}
		if role != "" {
			out = append(out, Change{What: "set role", Name: pc.Username, Detail: role})
		}
		if dryRun {
			return out, nil
		}
		u = storage.User{ID: "usr_" + secret.Code()[:16], Username: pc.Username, Nickname: strings.TrimSpace(pc.Nickname), AvatarURL: pc.AvatarURL, CreatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, fmt.Errorf("create user %s: %w", pc.Username, err)
		}
		if err := st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "user_created", Detail: "created by " + operator + " (apply)", CreatedAt: now}); err != nil {
			return out, err
		}
		if role != "" {
			if err := SetRole(ctx, st, pc.Username, role, operator, now); err != nil {
				return out, err
			}
		}
		if pc.Disabled {
			out = append(out, Change{What: "disable user", Name: pc.Username})
			return out, DisableUser(ctx, st, pc.Username, operator, now)
		}
		return out, nil
	} else if err != nil {
		return nil, err
	}
	var out []Change
	if nick := strings.TrimSpace(pc.Nickname); u.Nickname != nick || u.AvatarURL != pc.AvatarURL {
		out = append(out, Change{What: "update user", Name: pc.Username, Detail: fmt.Sprintf("nickname %q -> %q, picture %q -> %q", u.Nickname, nick, u.AvatarURL, pc.AvatarURL)})
		if !dryRun {
			if err := SetProfile(ctx, st, pc.Username, nick, pc.AvatarURL, operator, now); err != nil {
				return out, err
			}
		}
	}
	if u.Role != role {
		out = append(out, Change{What: "set role", Name: pc.Username, Detail: cmpOr(u.Role, "none") + " -> " + cmpOr(role, "none")})
		if !dryRun {
			if err := SetRole(ctx, st, pc.Username, cmpOr(role, "none"), operator, now); err != nil {
				return out, err
			}
		}
	}
	if pc.Disabled == u.Active() {
		out = append(out, Change{What: map[bool]string{true: "disable user", false: "enable user"}[pc.Disabled], Name: pc.Username})
		if !dryRun {
			op := EnableUser
			if pc.Disabled {
				op = DisableUser
			}
			if err := op(ctx, st, pc.Username, operator, now); err != nil {
				return out, err
			}
		}
	}
	return slices.Clip(out), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
