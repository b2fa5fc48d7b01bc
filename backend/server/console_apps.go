package server

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// appsView is the apps page.
type appsView struct {
	Apps []storage.App
}

func (s *Server) handleConsoleApps(w http.ResponseWriter, r *http.Request, op operator) {
	apps, err := s.store.ListApps(r.Context())
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	slices.SortFunc(apps, func(a, b storage.App) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	s.renderConsole(w, http.StatusOK, "admin_apps", tr(op.lang, "Apps"), op, consolePage{Section: "apps", Notice: notice(r), Data: appsView{Apps: apps}})
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) handleConsoleCreateApp(w http.ResponseWriter, r *http.Request, op operator) {
	fence, err := formFence(r)
	if err != nil {
		s.consoleFail(w, r, op, fmt.Errorf("create app: %w", err))
		return
	}
	spec := admin.AppSpec{Name: r.PostFormValue("name"), IconURL: strings.TrimSpace(r.PostFormValue("icon")),
		RedirectURIs: lines(r.PostFormValue("redirect_uris")), Domains: lines(r.PostFormValue("domains")),
		Public: r.PostFormValue("public") == "on", IDTokenAlg: r.PostFormValue("alg"), FastLogin: true, Operator: op.name(), Fence: fence}
	na, err := admin.CreateApp(r.Context(), s.ops(), spec, s.now())
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	// The secret is in this answer only: it is stored as a hash.
	s.showApp(w, r, op, na.AppID, http.StatusCreated, na.Secret, "Created. Copy the secret now: it is shown this once.")
}

// appView is one app's page; Secret is set only on the answer that
// created or rotated it.
type appView struct {
	App           storage.App
	RedirectURIs  string // one per line, for the form
	Domains       string
	CIDRs         string
	Countries     string
	Groups        string
	Secret        string
	GraceUntil    time.Time
	SignIns       []storage.Event
	DefaultGrace  string
	IDTokenAlgs   []string
	Policies      []string // the password policies to choose from, "" the server's
	ServerPolicy  storage.PasswordPolicy
	OwnOwner      bool
	OldSecretLive bool
	MinOS         string   // the device policy's --min-os, as typed
	KeyLevels     []string // the key protections a device policy may ask
}

// minOSText writes a device policy's minimum versions as --min-os takes them.
func minOSText(m map[string]string) string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, name+":"+m[name])
	}
	return strings.Join(out, ",")
}

func (s *Server) handleConsoleApp(w http.ResponseWriter, r *http.Request, op operator) {
	s.showApp(w, r, op, r.PathValue("appid"), http.StatusOK, "", notice(r))
}

func (s *Server) showApp(w http.ResponseWriter, r *http.Request, op operator, appID string, status int, sec, note string) {
	ctx := r.Context()
	a, err := s.store.GetApp(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		s.consoleMessage(w, http.StatusNotFound, op, "No such app", "No app has that appid; see the Apps page.")
		return
	}
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	v := appView{App: a, RedirectURIs: strings.Join(a.RedirectURIs, "\n"), Domains: strings.Join(a.Domains, "\n"), Secret: sec,
		CIDRs: strings.Join(a.Fence.CIDRs, "\n"), Countries: strings.Join(a.Fence.Countries, " "),
		Groups: strings.Join(a.Fence.Groups, "\n"), MinOS: minOSText(a.Fence.Device.MinOS), KeyLevels: []string{"", "software", "platform", "tpm"},
		DefaultGrace: "24h", IDTokenAlgs: []string{"RS256", "ES256"}, OwnOwner: !a.SharedOwner(),
		Policies: []string{"", string(storage.PasswordOn), string(storage.PasswordSecondFactor), string(storage.PasswordOff)}, ServerPolicy: s.serverPolicy(),
		OldSecretLive: len(a.OldSecretHash) > 0 && s.now().Before(a.OldSecretUntil), GraceUntil: a.OldSecretUntil}
	if v.SignIns, err = s.store.QueryEvents(ctx, storage.EventQuery{AppID: a.AppID, Kinds: []string{"signin"}, Limit: 20}); err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	s.renderConsole(w, status, "admin_app", a.Name, op, consolePage{Section: "apps", Notice: note, Data: v})
}

// handleConsoleAppAction runs one change to an app, each the same admin
// operation as the CLI's command of that name (which records it).
func (s *Server) handleConsoleAppAction(w http.ResponseWriter, r *http.Request, op operator) {
	ctx, appID, now, st, by := r.Context(), r.PathValue("appid"), s.now(), s.ops(), op.name()
	var err error
	var done string
	switch r.PathValue("action") {
	case "edit":
		owner := strings.TrimSpace(r.PostFormValue("owner"))
		name, icon, alg := r.PostFormValue("name"), strings.TrimSpace(r.PostFormValue("icon")), r.PostFormValue("alg")
		uris, domains, fast := lines(r.PostFormValue("redirect_uris")), lines(r.PostFormValue("domains")), r.PostFormValue("fast_login") == "on"
		var fence storage.Fence
		if fence, err = formFence(r); err != nil {
			err = fmt.Errorf("edit app: %w", err)
			break
		}
		_, err = admin.EditApp(ctx, st, appID, admin.AppEdit{Name: &name, IconURL: &icon, Owner: &owner,
			RedirectURIs: &uris, Domains: &domains, FastLogin: &fast, IDTokenAlg: &alg, Fence: &fence}, by, now)
		done = "saved"
	case "rotate":
		var grace time.Duration
		if grace, err = time.ParseDuration(cmp.Or(strings.TrimSpace(r.PostFormValue("grace")), "24h")); err != nil {
			err = fmt.Errorf("rotate secret: grace %q: want a duration such as 24h, 30m or 0s", r.PostFormValue("grace"))
			break
		}
		var na admin.NewApp
		if na, err = admin.RotateSecret(ctx, st, appID, grace, by, now); err == nil {
			s.showApp(w, r, op, appID, http.StatusOK, na.Secret, "Secret rotated. Copy the new secret now: it is shown this once.")
			return
		}
	case "delete":
		if r.PostFormValue("confirm") != "on" {
			err = errors.New("delete app: tick the box that says it cannot be undone, then delete again")
		} else if err = admin.DeleteApp(ctx, st, appID, by, now); err == nil {
			consoleDone(w, r, "/admin/apps", "deleted")
			return
		}
	case "disable":
		_, err = admin.SetAppDisabled(ctx, st, appID, true, by, now)
		done = "disabled"
	case "enable":
		_, err = admin.SetAppDisabled(ctx, st, appID, false, by, now)
		done = "enabled"
	default:
		http.NotFound(w, r)
		return
	}
	s.consoleOutcome(w, r, op, err, "/admin/apps/"+appID, done)
}

// formFence reads an app form's fence: ranges one per line, countries
// separated by spaces or commas.
func formFence(r *http.Request) (storage.Fence, error) {
	f := storage.Fence{CIDRs: lines(r.PostFormValue("allow_cidrs")),
		Countries:      strings.FieldsFunc(r.PostFormValue("allow_countries"), func(c rune) bool { return c == ' ' || c == ',' || c == '\n' || c == '\r' }),
		Groups:         lines(r.PostFormValue("require_groups")),
		PasswordSignin: storage.PasswordPolicy(r.PostFormValue("password_signin")),
		Device: storage.DevicePolicy{RequireKey: r.PostFormValue("require_key"),
			RequireDiskEncryption: r.PostFormValue("require_disk_encryption") == "on"}}
	var err error
	f.Device.MinOS, err = admin.ParseMinOS(r.PostFormValue("min_os"))
	return f, err
}
