package server

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// notices are what the console says after a change, by the key the
// change's redirect carries: fixed texts, so that a link someone crafts
// cannot make the console say something it did not do.
var notices = map[string]string{
	"created":     "Created.",
	"saved":       "Saved.",
	"disabled":    "Disabled: every desktop, sign-in and session of it ended.",
	"enabled":     "Enabled.",
	"signedout":   "Signed out everywhere: her desktops, apps and browsers must sign in again.",
	"unlocked":    "Wrong passwords forgotten: her password sign-ins no longer wait.",
	"role":        "Role set.",
	"deleted":     "Deleted.",
	"revoked":     "Revoked.",
	"app-revoked": "The app's sign-in was taken back.",
	"ended":       "Ended.",
	"removed":     "Removed.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// peopleView is the people page: those matching the search Q.
type peopleView struct {
	Q      string
	People []storage.User
}

// maxListed caps what a console list shows at once; a search narrows it.
const maxListed = 200

func (s *Server) handleConsolePeople(w http.ResponseWriter, r *http.Request, op operator) {
	q := trimLen(r.URL.Query().Get("q"), 100)
	all, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	v := peopleView{Q: q}
	needle := strings.ToLower(q)
	for _, u := range all {
		if needle == "" || strings.Contains(strings.ToLower(u.Username), needle) || strings.Contains(strings.ToLower(u.Nickname), needle) {
			v.People = append(v.People, u)
		}
	}
	slices.SortFunc(v.People, func(a, b storage.User) int { return cmp.Compare(a.Username, b.Username) })
	if len(v.People) > maxListed {
		v.People = v.People[:maxListed]
	}
	s.renderConsole(w, http.StatusOK, "admin_people", tr(op.lang, "People"), op, consolePage{Section: "people", Notice: notice(r), Data: v})
}

func (s *Server) handleConsoleCreatePerson(w http.ResponseWriter, r *http.Request, op operator) {
	u, err := admin.CreateUser(r.Context(), s.ops(), admin.UserSpec{Username: strings.TrimSpace(r.PostFormValue("username")),
		Nickname: r.PostFormValue("nickname"), AvatarURL: strings.TrimSpace(r.PostFormValue("avatar")), Password: r.PostFormValue("password"),
		Operator: op.name()}, s.now())
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	consoleDone(w, r, "/admin/people/"+u.Username, "created")
}

// personView is one person's page: her account, what she is signed in
// with, and her recent events.
type personView struct {
	Person   storage.User
	Sessions []admin.Session
	Grants   []grantView
	Events   []storage.Event
	Guessed  int // wrong passwords counted against the account
	Passkeys []passkeyView
	TOTP     bool // an authenticator app is set up
	Roles    []string
	RoleName string
}

func (s *Server) handleConsolePerson(w http.ResponseWriter, r *http.Request, op operator) {
	s.showPerson(w, r, op, r.PathValue("username"), notice(r))
}

// showPerson renders username's page with the notice note.
func (s *Server) showPerson(w http.ResponseWriter, r *http.Request, op operator, username, note string) {
	ctx := r.Context()
	u, err := s.store.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		s.consoleMessage(w, http.StatusNotFound, op, "No such person", "Nobody has that username; search on the People page.")
		return
	}
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	v := personView{Person: u, Roles: []string{"none", storage.RoleAuditor, storage.RoleAdmin}, RoleName: cmp.Or(u.Role, "none")}
	v.Grants, err = s.grantViews(ctx, op.lang, u.ID)
	if err == nil {
		v.Sessions, err = admin.Sessions(ctx, s.store, u.Username, s.now())
	}
	if err == nil {
		v.Guessed, _ = s.accountFailures(ctx, u.Username)
		v.Events, err = s.store.ListEvents(ctx, u.ID, "", 30)
	}
	if err == nil {
		var pks []storage.Passkey
		if pks, err = s.store.ListPasskeys(ctx, u.ID); err == nil {
			v.Passkeys = passkeyViews(pks)
			v.TOTP, err = s.hasTOTP(ctx, u.ID)
		}
	}
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	s.renderConsole(w, http.StatusOK, "admin_person", u.Nickname, op, consolePage{Section: "people", Notice: note, Data: v})
}

// handleConsolePersonAction runs one change to a person, each the same
// admin operation as the CLI's command of that name.
func (s *Server) handleConsolePersonAction(w http.ResponseWriter, r *http.Request, op operator) {
	ctx, username, now := r.Context(), r.PathValue("username"), s.now()
	st, by := s.ops(), op.name()
	var err error
	done := r.PathValue("action")
	switch done {
	case "disable":
		if username == op.Username {
			err = errors.New("disable user: you cannot disable yourself; ask another administrator")
		} else {
			err = admin.DisableUser(ctx, st, username, by, now)
		}
		done = "disabled"
	case "enable":
		err, done = admin.EnableUser(ctx, st, username, by, now), "enabled"
	case "signout":
		err, done = admin.SignOutEverywhere(ctx, st, username, by, now), "signedout"
	case "unlock":
		err, done = admin.Unlock(ctx, st, username, by, now), "unlocked"
	case "role":
		if username == op.Username && r.PostFormValue("role") != storage.RoleAdmin {
			err = errors.New("set role: you cannot take your own admin role; ask another administrator")
		} else {
			err = admin.SetRole(ctx, st, username, r.PostFormValue("role"), by, now)
		}
		done = "role"
	case "delete":
		switch {
		case username == op.Username:
			err = errors.New("delete user: you cannot delete yourself; ask another administrator")
		case r.PostFormValue("confirm") != "on":
			err = errors.New("delete user: tick the box that says it cannot be undone, then delete again")
		default:
			err = admin.DeleteUser(ctx, st, username, by, now)
		}
		if err == nil {
			consoleDone(w, r, "/admin/people", "deleted")
			return
		}
	case "profile":
		err, done = admin.SetProfile(ctx, st, username, r.PostFormValue("nickname"), strings.TrimSpace(r.PostFormValue("avatar")), by, now), "saved"
	case "reset-link":
		var tok string
		if tok, err = admin.ResetLink(ctx, st, username, by, now); err == nil {
			// Shown once: only the token's hash is stored.
			r.URL.RawQuery = ""
			s.showPerson(w, r, op, username, tr(op.lang, "Give her this one-time link, valid 24 hours (it is shown only now): %s", s.public.String()+"/reset/"+tok))
			return
		}
	case "end":
		err, done = admin.EndSession(ctx, st, username, r.PostFormValue("id"), by, now), "ended"
	case "remove-passkey":
		err, done = admin.RemovePasskey(ctx, st, username, r.PostFormValue("id"), by, now), "removed"
	case "remove-authenticator":
		err, done = admin.RemoveTOTP(ctx, st, username, by, now), "removed"
	case "revoke-app":
		var u storage.User
		if u, err = s.store.GetUserByUsername(ctx, username); err == nil {
			appID := r.PostFormValue("appid")
			err = s.signin.RevokeApp(ctx, u.ID, appID, s.appName(ctx, appID)+" taken back by "+by)
		}
		done = "app-revoked"
	default:
		http.NotFound(w, r)
		return
	}
	s.consoleOutcome(w, r, op, err, "/admin/people/"+username, done)
}
