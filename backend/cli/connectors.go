package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/ldap"
	"github.com/scanfree/scanfree/backend/connector/oidc"
	"github.com/scanfree/scanfree/backend/connector/wechat"
)

// configPath is the --config file, or SCANFREE_SERVER_CONFIG's.
func (a *app) configPath() string {
	if a.configFile != "" {
		return a.configFile
	}
	return os.Getenv("SCANFREE_SERVER_CONFIG")
}

// connectorSpec is one entry of the config file's connectors list, in
// Dex's shape: an id (links are kept by it: never change it), a type, the
// name people see, and the type's own config.
type connectorSpec struct {
	ID     string    `yaml:"id"`
	Type   string    `yaml:"type"`
	Name   string    `yaml:"name"`
	Config yaml.Node `yaml:"config"`
}

// loadConnectors opens the connectors the config file lists (none
// without a file or a connectors key).
func loadConnectors(file string, log *slog.Logger) ([]connector.Connector, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", file, err)
	}
	var doc struct {
		Connectors []connectorSpec `yaml:"connectors"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: connectors: %w", file, err)
	}
	var out []connector.Connector
	for i, spec := range doc.Connectors {
		c, err := openConnector(spec, log)
		if err != nil {
			return nil, fmt.Errorf("config file %s: connectors[%d] (id %q): %w", file, i, spec.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func openConnector(spec connectorSpec, log *slog.Logger) (connector.Connector, error) {
	if spec.ID == "" || spec.Name == "" {
		return nil, errors.New("set id (never change it: people are linked by it) and name (what people see)")
	}
	switch spec.Type {
	case "ldap":
		var cfg ldap.Config
		if err := strictDecode(&spec.Config, &cfg); err != nil {
			return nil, fmt.Errorf("ldap config: %w", err)
		}
		return ldap.New(spec.ID, spec.Name, cfg, log)
	case "oidc":
		var cfg oidc.Config
		if err := strictDecode(&spec.Config, &cfg); err != nil {
			return nil, fmt.Errorf("oidc config: %w", err)
		}
		return oidc.New(spec.ID, spec.Name, cfg, log)
	case "wechat":
		var cfg wechat.Config
		if err := strictDecode(&spec.Config, &cfg); err != nil {
			return nil, fmt.Errorf("wechat config: %w", err)
		}
		return wechat.New(spec.ID, spec.Name, cfg, log)
	}
	return nil, fmt.Errorf("type %q: use ldap, oidc or wechat", spec.Type)
}

// strictDecode decodes n into v, refusing keys v does not have (a
// misspelt setting must not be silently ignored).
func strictDecode(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return errors.New("missing")
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// knownConnector checks id against the config file's connectors, when
// there is a file (a link to a misspelt id would never be used).
func (a *app) knownConnector(id string) error {
	file := a.configPath()
	if file == "" {
		return nil
	}
	cs, err := loadConnectors(file, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	var ids []string
	for _, c := range cs {
		if c.ID() == id {
			return nil
		}
		ids = append(ids, c.ID())
	}
	return fmt.Errorf("link user: %s has no connector %q; its connectors: %v", file, id, ids)
}

// isOIDC reports whether c is an OpenID Connect connector.
func isOIDC(c connector.Connector) bool {
	_, ok := c.(*oidc.Connector)
	return ok
}
