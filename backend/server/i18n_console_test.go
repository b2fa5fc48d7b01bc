package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// consoleTexts finds the console's English texts: {{T "…"}} in the
// templates and the literals the handlers pass to tr, consoleMessage and
// the sign-in's fail.
var consoleTexts = []struct {
	glob string
	re   *regexp.Regexp
}{
	{"templates/*.html", regexp.MustCompile(`\bT "((?:[^"\\]|\\.)*)"`)},
	{"*.go", regexp.MustCompile(`\btr\([\w.]+, ("(?:[^"\\]|\\.)*")`)},
	{"console*.go", regexp.MustCompile(`consoleMessage\(w, [^,]+, [^,]+, ("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")\)`)},
	{"session.go", failText},
	{"selfsignin.go", failText},
	{"reset.go", failText},
	{"password_change.go", failText},
	{"password_change.go", regexp.MustCompile(`return http\.\w+, ("(?:[^"\\]|\\.)*")`)},
	{"reset.go", regexp.MustCompile(`return ("(?:[^"\\]|\\.)+")\n`)},
	// The pages' titles, errors and messages.
	{"*.go", regexp.MustCompile(`(?s)\bpage\{[^{}]*?\bTitle: ("(?:[^"\\]|\\.)+")`)},
	{"*.go", regexp.MustCompile(`(?s)\bpage\{[^{}]*?\bError: ("(?:[^"\\]|\\.)+")`)},
	{"*.go", regexp.MustCompile(`\bs\.message\(w, r, [^,]+, [^,]+,\s*("(?:[^"\\]|\\.)*"),\s*("(?:[^"\\]|\\.)*")`)},
	{"*.go", regexp.MustCompile(`\bs\.message\(w, r, [^,]+, [^,]+,\s*("(?:[^"\\]|\\.)*"), \w`)},
	{"*.go", regexp.MustCompile(`\bmsg :?= (?:http\.\w+, )?("(?:[^"\\]|\\.)*")`)},
	{"passkey_account.go", regexp.MustCompile(`\bfail\(http\.\w+, ("(?:[^"\\]|\\.)*"),`)},
	{"*.go", regexp.MustCompile(`\b(?:unavailableText|capText) = ("(?:[^"\\]|\\.)*")`)},
}

// failText is a message the sign-in pages show through their fail.
var failText = regexp.MustCompile(`\bfail\(http\.\w+, ("(?:[^"\\]|\\.)*")\)`)

// TestConsoleCatalogue: every text the console shows has its Chinese, so
// a console in Chinese has no English left in it but what the package
// comment of i18n_console.go names.
func TestConsoleCatalogue(t *testing.T) {
	want := map[string]string{} // text → where it was found
	for _, ct := range consoleTexts {
		files, err := fs.Glob(os.DirFS("."), ct.glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v (no files)", ct.glob, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "i18n") {
				continue
			}
			b, err := os.ReadFile(filepath.Clean(f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ct.re.FindAllStringSubmatch(string(b), -1) {
				for _, lit := range m[1:] {
					if s, err := strconv.Unquote(lit); err == nil {
						lit = s
					}
					want[lit] = f
				}
			}
		}
	}
	// Texts chosen at run time: the notices after a change, and the
	// values templates translate ({{T .Role}}, {{T .Kind}}, …).
	for _, n := range notices {
		want[n] = "notices"
	}
	for _, h := range howSignedIn {
		want[h] = "howSignedIn"
	}
	for _, v := range []string{"none", "admin", "auditor", "web", "app", "desktop", "browser", "ok", "refused",
		"scanfree", "qr", "password", "desktop_app", "device_approval"} {
		want[v] = "a value a template translates"
	}
	if len(want) < 150 {
		t.Fatalf("found only %d console texts: the patterns no longer match the code", len(want))
	}
	for s, where := range want {
		if _, ok := zhText(s); !ok {
			t.Errorf("%s: %q has no Chinese in zhConsole or zhPages", where, s)
		}
	}
}

func TestConsoleLang(t *testing.T) {
	for _, c := range []struct{ tag, want string }{
		{"zh-CN", langZH}, {"zh", langZH}, {"zh_TW", langZH}, {"ZH-hans", langZH}, {"cn", langZH},
		{"en-US", langEN}, {"", langEN}, {"zhx", langEN}, {"fr", langEN},
	} {
		if got := normLang(c.tag); got != c.want {
			t.Errorf("normLang(%q) = %q, want %q", c.tag, got, c.want)
		}
	}
	if got := tr(langZH, "100% %s"); got != "100% %s" {
		t.Errorf("tr without args changed a literal %%: %q", got)
	}
	if got := tr(langZH, "since %s", "x"); got != "自 x 起" {
		t.Errorf("tr with args: %q", got)
	}
}
