package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Identity links a person to her entry in an upstream directory or
// provider (a connector): the connector's stable id for her (LDAP
// entryUUID or objectGUID, an OIDC provider's sub, WeChat's unionid),
// never her name there, so a renamed entry stays the same person.
type Identity struct {
	ConnectorID string
	Subject     string // the connector's stable id of her
	UserID      string
	Username    string   // her name in the directory, as last seen
	Groups      []string // her groups there, as last seen
	// Data is what the connector keeps to check on her later (an OIDC
	// refresh token), sealed with the data key; nil when none.
	Data      []byte
	CreatedAt time.Time
	CheckedAt time.Time // the directory last answered for her
}

// Identities keeps the links between people and connectors.
type Identities interface {
	// CreateUserWithIdentity stores u and its link id in one transaction
	// (a person made at her first sign-in through a connector);
	// ErrAlreadyExists, and nothing stored, when u's username or id's
	// (ConnectorID, Subject) is taken.
	CreateUserWithIdentity(ctx context.Context, u User, id Identity) error
	// LinkIdentity links an existing person (id.UserID) to a connector's
	// subject; ErrAlreadyExists when that subject is linked already,
	// ErrNotFound when the person is unknown.
	LinkIdentity(ctx context.Context, id Identity) error
	// GetIdentity returns the link of connectorID's subject.
	GetIdentity(ctx context.Context, connectorID, subject string) (Identity, error)
	// ListIdentities lists connectorID's links ("" lists every
	// connector's), or those of userID when it is not "".
	ListIdentities(ctx context.Context, connectorID, userID string) ([]Identity, error)
	// UpdateIdentity stores what the directory said of a linked person
	// now (Username, Groups, Data, CheckedAt); ErrNotFound when the link
	// is gone.
	UpdateIdentity(ctx context.Context, id Identity) error
}

// IdentityCols are the identities table's columns, in Identity's order,
// with GroupsText and ParseGroups for the groups column.
const IdentityCols = `connector_id, subject, user_id, username, groups_json, data, created_at, checked_at`

// ScanIdentity reads a row of IdentityCols with scan (a row's Scan),
// for every store to read them alike.
func ScanIdentity(scan func(dest ...any) error) (Identity, error) {
	var id Identity
	var groups string
	var created, checked int64
	if err := scan(&id.ConnectorID, &id.Subject, &id.UserID, &id.Username, &groups, &id.Data, &created, &checked); err != nil {
		return id, err
	}
	id.CreatedAt, id.CheckedAt = FromMillis(created), FromMillis(checked)
	var err error
	id.Groups, err = ParseGroups(groups)
	return id, err
}

// GroupsText is groups as the stores keep them (a JSON array).
func GroupsText(groups []string) string {
	if len(groups) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(groups)
	return string(b)
}

// ParseGroups reads GroupsText's form back.
func ParseGroups(s string) ([]string, error) {
	var g []string
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		return nil, fmt.Errorf("groups %q: %w", s, err)
	}
	return g, nil
}
