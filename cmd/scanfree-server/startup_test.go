package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestFreshDatabaseAtOnce: a server starting on a new SQLite file while
// five admin commands open the same file, as an operator setting up does
// in two terminals; twenty times over, nobody fails (migrations are read
// and applied under SQLite's write lock, the data key file appears whole)
// and the server becomes ready.
func TestFreshDatabaseAtOnce(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfree-server")
	dir := t.TempDir()
	for round := range 20 {
		db := filepath.Join(dir, fmt.Sprintf("round%d.db", round))
		addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		cmds := [][]string{
			{"app", "create", "--name", "Shop", "--redirect-uri", "http://shop.localhost/cb"},
			{"app", "list"},
			{"user", "list"},
			{"app", "create", "--name", "Other", "--redirect-uri", "http://other.localhost/cb", "--public"},
			{"keys", "list"},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cmds))
		outs := make([]string, len(cmds))
		start := make(chan struct{})
		for i, args := range cmds {
			wg.Go(func() {
				<-start
				var errOut string
				_, errOut, errs[i] = testutil.Run(context.Background(), nil, "", bin, append(args, "--db", db)...)
				outs[i] = errOut
			})
		}
		close(start)
		srv := testutil.Start(t, nil, bin, "serve", "--db", db, "--addr", addr, "--public-url", "http://"+addr)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: scanfree-server %v beside a starting server: %v\n%s", round, cmds[i], err, outs[i])
			}
		}
		testutil.WaitHTTP(t, "http://"+addr+"/readyz", 20*time.Second)
		// Ready means the signing keys exist: the first JWKS a relying
		// party caches holds a key for every algorithm discovery names.
		var disc struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		var set struct {
			Keys []struct {
				Alg string `json:"alg"`
			} `json:"keys"`
		}
		getJSON(t, "http://"+addr+"/.well-known/openid-configuration", &disc)
		getJSON(t, "http://"+addr+"/oauth2/jwks", &set)
		published := map[string]bool{}
		for _, k := range set.Keys {
			published[k.Alg] = true
		}
		for _, alg := range disc.Algs {
			if !published[alg] {
				t.Fatalf("round %d: the first JWKS has no %s key (discovery names %v, JWKS %+v)", round, alg, disc.Algs, set.Keys)
			}
		}
		srv.Stop(5 * time.Second)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
