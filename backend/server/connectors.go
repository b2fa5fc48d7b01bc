package server

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// People from directories (Config.Connectors). A person who signs in
// through a connector is linked to the connector's stable id for her
// (storage.Identity): made here at her first sign-in, her profile and
// groups refreshed at each later one and by the sync. Nobody is ever
// linked by name: an existing account with her directory name is not
// hers until an operator links it (`scanfree-server user link`); she
// gets the name with the connector's id appended instead.
//
// A directory that does not answer lets nobody in through it and
// disables nobody: its people still sign in scan-free, by QR code and
// with local passwords; the failure is logged, counted
// (scanfree_directory_errors_total) and named on the monitoring /readyz.

// LocalConnector is the id of the local password store in the login
// form's connector choice.
const LocalConnector = "local"

var connectorIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// checkConnectors refuses ids that are invalid, taken twice or "local".
func checkConnectors(cs []connector.Connector) error {
	seen := map[string]bool{}
	for _, c := range cs {
		switch id := c.ID(); {
		case !connectorIDRE.MatchString(id):
			return fmt.Errorf("connector id %q: use 1 to 32 lowercase letters, digits, '-' or '_'", id)
		case id == LocalConnector:
			return fmt.Errorf("connector id %q is the local password store's; choose another", id)
		case seen[id]:
			return fmt.Errorf("connector id %q is used twice; give each connector its own", id)
		default:
			seen[id] = true
		}
	}
	return nil
}

// passwordConnectors are the connectors the login form offers.
func (s *Server) passwordConnectors() []connector.PasswordConnector {
	var out []connector.PasswordConnector
	for _, c := range s.cfg.Connectors {
		if pc, ok := c.(connector.PasswordConnector); ok {
			out = append(out, pc)
		}
	}
	return out
}

// passwordConnector returns the password connector with id, if any.
func (s *Server) passwordConnector(id string) (connector.PasswordConnector, bool) {
	c, _ := s.connector(id)
	pc, ok := c.(connector.PasswordConnector)
	return pc, ok
}

// connector returns the connector with id, if any.
func (s *Server) connector(id string) (connector.Connector, bool) {
	for _, c := range s.cfg.Connectors {
		if c.ID() == id {
			return c, true
		}
	}
	return nil, false
}

// connectorName is the name people see of connector id.
func (s *Server) connectorName(id string) string {
	if c, ok := s.connector(id); ok {
		return c.Name()
	}
	return id
}

// directoryUser is the person a connector vouched for (id): her linked
// account, her profile and groups refreshed, or a new account made and
// linked at her first sign-in.
func (s *Server) directoryUser(ctx context.Context, id connector.Identity) (storage.User, error) {
	now := s.now()
	link, err := s.store.GetIdentity(ctx, id.Connector, id.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		return s.provision(ctx, id, now)
	}
	if err != nil {
		return storage.User{}, err
	}
	u, err := s.store.GetUser(ctx, link.UserID)
	if err != nil {
		return u, err
	}
	return u, s.refreshed(ctx, u, link, id, now)
}

// refreshed stores what the directory now says of linked person u.
func (s *Server) refreshed(ctx context.Context, u storage.User, link storage.Identity, id connector.Identity, now time.Time) error {
	link.Username, link.Groups, link.CheckedAt = id.Username, id.Groups, now
	if id.Data != nil {
		link.Data = s.sealConnectorData(link, id.Data)
	}
	if err := s.store.UpdateIdentity(ctx, link); err != nil {
		return err
	}
	name, picture := profile(id)
	if name != u.Nickname || picture != u.AvatarURL {
		return s.store.SetProfile(ctx, u.ID, name, picture)
	}
	return nil
}

// provision makes the person id describes and links her, at her first
// sign-in through its connector.
func (s *Server) provision(ctx context.Context, id connector.Identity, now time.Time) (storage.User, error) {
	name, picture := profile(id)
	u := storage.User{ID: "usr_" + secret.Code()[:16], Nickname: name, AvatarURL: picture, CreatedAt: now}
	if id.Phone != "" && len(s.cfg.DataKey) != 0 {
		// A number the directory holds in a form we cannot read is left
		// out, not a reason to refuse her.
		u.PhoneSealed, _ = admin.SealPhone(s.cfg.DataKey, u.ID, id.Phone)
	}
	link := storage.Identity{ConnectorID: id.Connector, Subject: id.Subject, UserID: u.ID, Username: id.Username, Groups: id.Groups,
		CreatedAt: now, CheckedAt: now}
	if id.Data != nil {
		link.Data = s.sealConnectorData(link, id.Data)
	}
	base := usernameFrom(id.Username)
	var err error
	for _, candidate := range []string{base, trimTo(base, 64-len(id.Connector)-1) + "." + id.Connector} {
		u.Username = candidate
		if err = s.store.CreateUserWithIdentity(ctx, u, link); !errors.Is(err, storage.ErrAlreadyExists) {
			break
		}
		// Made at once by another replica's sign-in of hers?
		if other, gerr := s.store.GetIdentity(ctx, id.Connector, id.Subject); gerr == nil {
			return s.store.GetUser(ctx, other.UserID)
		}
	}
	if err != nil {
		return u, fmt.Errorf("provision %s from %s: %w", id.Username, id.Connector, err)
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "user_created",
		Detail: "created at her first sign-in through " + s.connectorName(id.Connector) + " as " + id.Username})
	return u, nil
}

// sealConnectorData seals what a connector keeps of link's person; nil
// without a data key (a connector that needs it refuses to start so).
func (s *Server) sealConnectorData(link storage.Identity, data []byte) []byte {
	if len(s.cfg.DataKey) == 0 {
		return nil
	}
	return secret.Seal(s.cfg.DataKey, secret.PurposeConnector, data, []byte(link.ConnectorID+"/"+link.Subject))
}

// profile is the nickname and picture a directory identity gives.
func profile(id connector.Identity) (name, picture string) {
	name = strings.TrimSpace(id.Name)
	if name == "" {
		name = id.Username
	}
	picture = id.Picture
	if !strings.HasPrefix(picture, "https://") && !strings.HasPrefix(picture, "http://") {
		picture = ""
	}
	return trimTo(name, 100), picture
}

// usernameFrom makes a directory name a valid username: letters and
// digits kept, anything else a '.', at most 64 characters.
func usernameFrom(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('.')
		}
	}
	out := strings.Trim(trimTo(b.String(), 64), ".-_")
	if !admin.UsernameOK(out) {
		return "user"
	}
	return out
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// directoryState remembers which connectors' directories are not
// answering, for /readyz on the monitoring listener.
type directoryState struct {
	mu   sync.Mutex
	down map[string]string // connector id → the error, since when
}

// failed notes that connector id's directory did not answer.
func (s *Server) directoryFailed(ctx context.Context, id string, err error) {
	s.metrics.directory.WithLabelValues(id).Inc()
	s.log.WarnContext(ctx, "directory not answering; nobody signs in through it and nobody is disabled because of it", "connector", id, "err", err)
	d := &s.directories
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down == nil {
		d.down = map[string]string{}
	}
	if _, ok := d.down[id]; !ok {
		d.down[id] = fmt.Sprintf("%v (since %s)", err, s.now().UTC().Format(time.RFC3339))
	}
}

// directoryAnswered notes that connector id's directory answered.
func (s *Server) directoryAnswered(id string) {
	d := &s.directories
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.down, id)
}

// directoriesDown lists the directories not answering, one line each.
func (s *Server) directoriesDown() []string {
	d := &s.directories
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for id, why := range d.down {
		out = append(out, "directory "+id+" not answering: "+why)
	}
	slices.Sort(out)
	return out
}

// checkDirectory checks username's password with connector c and returns
// the person it links to (made at her first sign-in). A directory that
// has her disabled (with the right password) disables her here too.
func (s *Server) checkDirectory(ctx context.Context, c connector.PasswordConnector, username, password string) (storage.User, verdict) {
	id, ok, err := c.Login(ctx, username, password)
	switch {
	case errors.Is(err, connector.ErrGone):
		return s.directoryGone(ctx, c.ID(), id.Subject, username), verdictGone
	case err != nil:
		s.directoryFailed(ctx, c.ID(), err)
		return storage.User{}, verdictUnavailable
	}
	s.directoryAnswered(c.ID())
	if !ok {
		return storage.User{}, verdictWrong
	}
	u, err := s.directoryUser(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "login: the directory's person", "connector", c.ID(), "err", err)
		return u, verdictError
	}
	return u, verdictOK
}

// directoryGone disables the person linked to connector id's subject, if
// any (the directory has her disabled or no longer has her), and returns
// her.
func (s *Server) directoryGone(ctx context.Context, id, subject, username string) storage.User {
	if subject == "" {
		return storage.User{}
	}
	link, err := s.store.GetIdentity(ctx, id, subject)
	if err != nil {
		return storage.User{}
	}
	u, err := s.store.GetUser(ctx, link.UserID)
	if err != nil || !u.Active() {
		return u
	}
	if err := s.store.DisableUser(ctx, u.ID, s.now()); err != nil {
		s.log.ErrorContext(ctx, "directory: disable a person it no longer has", "user", u.Username, "err", err)
		return u
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "user_disabled",
		Detail: "disabled by directory " + s.connectorName(id) + ": " + username + " is disabled or gone there; every desktop, sign-in and session ended"})
	return u
}
