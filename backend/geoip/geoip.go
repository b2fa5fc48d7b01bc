// Package geoip tells the country of a client address from a MaxMind-format
// database (GeoLite2 or GeoIP2, Country or City), for the sign-in log and
// the apps' country fences.
package geoip

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open database; it is safe for concurrent use.
type DB struct {
	r *maxminddb.Reader
}

// Open opens the database at path and checks that it holds countries.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open GeoIP database %s: %w (want a GeoLite2/GeoIP2 Country or City .mmdb file)", path, err)
	}
	if t := r.Metadata.DatabaseType; !strings.Contains(t, "Country") && !strings.Contains(t, "City") {
		r.Close()
		return nil, fmt.Errorf("open GeoIP database %s: it is a %q database; want a GeoLite2/GeoIP2 Country or City one", path, t)
	}
	return &DB{r: r}, nil
}

// Country returns addr's ISO 3166 country code, or "" when the address
// is not one or the database does not know it.
func (d *DB) Country(addr string) string {
	a, err := netip.ParseAddr(addr)
	if d == nil || err != nil {
		return ""
	}
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
	}
	res := d.r.Lookup(a.Unmap())
	if !res.Found() || res.Decode(&rec) != nil {
		return ""
	}
	return rec.Country.ISOCode
}

// Close releases the database.
func (d *DB) Close() error { return d.r.Close() }
