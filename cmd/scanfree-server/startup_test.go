package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
			{"user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin"},
			{"user", "create", "--username", "bob", "--nickname", "Bob", "--password-stdin"},
			{"app", "create", "--name", "Other", "--redirect-uri", "http://other.localhost/cb", "--public"},
			{"app", "create", "--name", "Third", "--redirect-uri", "http://third.localhost/cb"},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cmds))
		outs := make([]string, len(cmds))
		start := make(chan struct{})
		for i, args := range cmds {
			wg.Go(func() {
				<-start
				var errOut string
				_, errOut, errs[i] = testutil.Run(context.Background(), nil, "a-password-of-theirs\n", bin, append(args, "--db", db)...)
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

// TestReadCommandsNeedADatabase: a read command run in the wrong folder
// says there is no database there, and leaves none behind.
func TestReadCommandsNeedADatabase(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfree-server")
	db := filepath.Join(t.TempDir(), "nowhere.db")
	for _, args := range [][]string{{"app", "list"}, {"user", "list"}, {"device", "list"}, {"keys", "list"}, {"events"}} {
		_, errOut, err := testutil.Run(context.Background(), nil, "", bin, append(args, "--db", db)...)
		if err == nil || !strings.Contains(errOut, "no database at "+db) {
			t.Errorf("%v in the wrong folder: %v %s", args, err, errOut)
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("%v created a database", args)
		}
	}
}
