package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // redirect_url keeps its "&" as the seeds show it
	enc.Encode(v)
}

// maxJSONBody caps the JSON bodies the API accepts.
const maxJSONBody = 16 << 10

// decodeJSON strictly decodes one JSON object from r's body into v, as
// the daemon decodes the pages' requests: a JSON content type, at most
// maxJSONBody bytes, names matched exactly, no unknown or repeated name,
// valid UTF-8, nothing after the object (encoding/json/v2 semantics; the
// v1 decoder would match names case-insensitively and let a repeated
// name win silently).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		return errors.New("Content-Type must be application/json")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("body larger than %d bytes", maxJSONBody)
	} else if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if err := jsonv2.Unmarshal(b, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}
