// Package geotest writes small GeoLite2-Country-format databases for tests,
// with MaxMind's own writer, so that the GeoIP code reads a real .mmdb file.
package geotest

import (
	"fmt"
	"net"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Write writes a Country database to path in which each CIDR range of
// countries lies in its ISO 3166 country ("192.0.2.0/24": "CN"). Reserved
// ranges (documentation, loopback) are allowed: tests use them.
func Write(path string, countries map[string]string) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24, IncludeReservedNetworks: true,
		Description: map[string]string{"en": "scanfree test database"}})
	if err != nil {
		return err
	}
	for cidr, code := range countries {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("geotest: %q: %w", cidr, err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
		if err := tree.Insert(network, rec); err != nil {
			return fmt.Errorf("geotest: insert %s: %w", cidr, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
