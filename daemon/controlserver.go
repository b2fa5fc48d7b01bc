package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/daemon/peer"
)

// controlHandler serves the control API for the CLI and the tray. It is
// never served on the browser-facing listener, and it refuses any request
// that carries Origin or Referer: those come from web pages, not from our
// clients.
func (d *Daemon) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v0/status", func(w http.ResponseWriter, r *http.Request) {
		d.refreshProfile(r.Context())
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("GET /v0/events", d.handleEvents)
	mux.HandleFunc("POST /v0/pause", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			For string `json:"for"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
				writeErr(w, http.StatusBadRequest, "malformed request: "+err.Error())
				return
			}
		}
		var dur time.Duration
		if in.For != "" {
			var err error
			if dur, err = time.ParseDuration(in.For); err != nil || dur < 0 {
				writeErr(w, http.StatusBadRequest, "pause for "+in.For+": want a duration such as 1h or 30m")
				return
			}
		}
		d.Pause(dur)
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /v0/resume", func(w http.ResponseWriter, r *http.Request) {
		d.Resume()
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /v0/login", func(w http.ResponseWriter, r *http.Request) {
		l, err := d.StartLogin(r.Context())
		if errors.Is(err, ErrAlreadySignedIn) {
			writeErr(w, http.StatusConflict, err.Error())
			return
		}
		if errors.Is(err, idp.ErrUnreachable) {
			writeErr(w, http.StatusBadGateway, "start sign-in: "+err.Error()+"; this desktop signs in at "+d.idp.BackendURL()+
				": if that is not your organisation's sign-in service, run `scanfreed login --backend URL` (or set backend_url in your config.yaml; "+
				"your administrator can set it for every user in /etc/scanfree/config.yaml)")
			return
		}
		if err != nil {
			writeErr(w, http.StatusBadGateway, "start sign-in: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, l)
	})
	mux.HandleFunc("POST /v0/backend", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL string `json:"url"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			writeErr(w, http.StatusBadRequest, "malformed request: "+err.Error())
			return
		}
		if err := d.SetBackend(in.URL); err != nil {
			writeErr(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /v0/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := d.Logout(r.Context()); err != nil {
			writeErr(w, http.StatusBadGateway, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("GET /v0/pending", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status().Pending)
	})
	answer := func(allow bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := d.broker.Answer(r.PathValue("id"), allow, "control"); errors.Is(err, broker.ErrNoSuchRequest) {
				writeErr(w, http.StatusNotFound, "no pending request "+r.PathValue("id")+"; see `scanfreed pending`")
				return
			}
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		}
	}
	mux.HandleFunc("POST /v0/pending/{id}/approve", answer(true))
	mux.HandleFunc("POST /v0/pending/{id}/deny", answer(false))
	mux.HandleFunc("POST /v0/qr", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL     string `json:"url"`
			Confirm bool   `json:"confirm"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			writeErr(w, http.StatusBadRequest, "malformed request: "+err.Error())
			return
		}
		app, err := d.AnswerQR(r.Context(), in.URL, in.Confirm)
		if err != nil {
			writeErr(w, http.StatusBadGateway, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"app_name": app})
	})
	d.appRoutes(mux)
	mux.HandleFunc("GET /v0/recent", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status().Recent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" || !peer.Allowed(r) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handleEvents streams the status as JSON lines: now and after every change.
func (d *Daemon) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for {
		if err := enc.Encode(control.Event{Type: "status", Status: d.Status()}); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-ch:
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
