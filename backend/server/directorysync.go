package server

import (
	"context"
	"errors"
	"time"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/periodic"
	"github.com/scanfree/scanfree/internal/secret"
)

// SyncDirectories re-checks, every Config.DirectorySync until ctx ends,
// each active person linked to a connector that can look people up again
// (connector.Refresher): one the directory no longer has, or has
// disabled, is disabled here (every desktop, token family and session
// ended at once); the others' names, pictures and groups are refreshed.
// A directory that does not answer disables nobody; the round goes on
// with the next connector. Run starts it when there are connectors.
func (s *Server) SyncDirectories(ctx context.Context) {
	periodic.Run(ctx, s.cfg.DirectorySync, func() { s.syncDirectories(ctx) })
}

// syncDirectories is one round of SyncDirectories.
func (s *Server) syncDirectories(ctx context.Context) {
	for _, c := range s.cfg.Connectors {
		r, ok := c.(connector.Refresher)
		if !ok {
			continue
		}
		links, err := s.store.ListIdentities(ctx, c.ID(), "")
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "directory sync: read the links", "connector", c.ID(), "err", err)
			}
			return
		}
		for _, link := range links {
			if ctx.Err() != nil {
				return
			}
			// Every replica syncs: one that checked her within half an
			// interval (or a sign-in's re-check) did this round's work,
			// and a provider that rotates refresh tokens is not handed
			// the same one twice at once.
			if s.now().Sub(link.CheckedAt) < s.cfg.DirectorySync/2 {
				continue
			}
			u, err := s.store.GetUser(ctx, link.UserID)
			if err != nil || !u.Active() {
				continue // gone or disabled here already: nothing to check
			}
			if s.checkOne(ctx, c, r, link, u) == checkDown {
				break // not answering: the next round tries again
			}
		}
	}
}

// checkResult is what asking a directory about one person found.
type checkResult int

const (
	checkThere checkResult = iota // she is there; what it says of her is stored
	checkGone                     // it no longer has her: she is disabled here
	checkDown                     // it did not answer
)

// checkOne asks r about active person u, linked by link to connector c.
func (s *Server) checkOne(ctx context.Context, c connector.Connector, r connector.Refresher, link storage.Identity, u storage.User) checkResult {
	old := connector.Identity{Connector: c.ID(), Subject: link.Subject, Username: link.Username, Groups: link.Groups}
	if link.Data != nil && len(s.cfg.DataKey) != 0 {
		old.Data, _ = secret.Open(s.cfg.DataKey, secret.PurposeConnector, link.Data, []byte(link.ConnectorID+"/"+link.Subject))
	}
	id, err := r.Refresh(ctx, old)
	switch {
	case errors.Is(err, connector.ErrGone):
		s.directoryAnswered(c.ID())
		s.directoryGone(ctx, c.ID(), link.Subject, link.Username)
		return checkGone
	case err != nil:
		s.directoryFailed(ctx, c.ID(), err)
		return checkDown
	}
	s.directoryAnswered(c.ID())
	id.Connector, id.Subject = c.ID(), link.Subject
	if err := s.refreshed(ctx, u, link, id, s.now()); err != nil {
		s.log.WarnContext(ctx, "directory sync: store what the directory says", "connector", c.ID(), "user", u.Username, "err", err)
	}
	return checkThere
}

// Re-checks at sign-in: at most one per person and connector per
// recheckFresh (a burst of sign-ins asks the directory once), each
// waiting at most recheckWait.
const (
	recheckFresh = time.Minute
	recheckWait  = 3 * time.Second
)

// recheck is the sign-in core's Config.Recheck: before a code is minted
// for active person u, linked to a directory that can be asked again,
// her directory is asked (unless it answered for her within
// recheckFresh). One that no longer has her disables her here and
// refuses the sign-in; one that does not answer refuses nothing (the
// sync will ask again). Without such directories it reads nothing.
func (s *Server) recheck(ctx context.Context, u storage.User) bool {
	if !s.canRecheck {
		return false
	}
	links, err := s.store.ListIdentities(ctx, "", u.ID)
	if err != nil {
		s.log.WarnContext(ctx, "directory re-check: read her links", "err", err)
		return false
	}
	for _, link := range links {
		c, ok := s.connector(link.ConnectorID)
		r, canAsk := c.(connector.Refresher)
		if !ok || !canAsk || s.now().Sub(link.CheckedAt) < recheckFresh {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, recheckWait)
		gone := s.checkOne(cctx, c, r, link, u) == checkGone
		cancel()
		if gone {
			return true
		}
	}
	return false
}
