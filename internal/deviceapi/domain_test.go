package deviceapi

import (
	"testing"

	"github.com/scanfree/scanfree/certs"
)

// TestDomainAgrees: the domain the hosted page calls the daemon at is
// the one the daemon's certificates are made for (certs keeps its own
// constant so that the public package needs nothing internal).
func TestDomainAgrees(t *testing.T) {
	if DefaultDomain != certs.DefaultDomain {
		t.Fatalf("deviceapi.DefaultDomain %q, certs.DefaultDomain %q", DefaultDomain, certs.DefaultDomain)
	}
}
