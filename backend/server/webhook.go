package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/periodic"
)

// The alert webhook: each alert is stored in the outbox with the event
// (storage.Webhooks) and posted to Config.WebhookURL by whichever replica
// claims it: JSON, signed with HMAC-SHA256 of the body under
// Config.WebhookSecret in X-Scanfree-Signature ("sha256=<hex>"), retried
// with backoff until the receiver answers 2xx (at least once), one at a
// time per person (in order). Sign-in only writes the outbox row: a slow
// or dead receiver never slows it.

// Webhook delivery timing.
const (
	webhookEvery   = 250 * time.Millisecond // how often the outbox is read
	webhookTimeout = 5 * time.Second        // one POST
	webhookLease   = 30 * time.Second       // a claim outlives a POST by far
	webhookMaxWait = 5 * time.Minute        // the longest backoff
	// webhookKeep is how long an undelivered message is retried before
	// the purge drops it (a receiver gone for good, or a webhook URL
	// removed from the config, would otherwise grow the outbox for
	// ever); the alert itself stays in the log.
	webhookKeep = 7 * 24 * time.Hour
)

// webhookBackoff is how long a message that failed attempts times waits.
func webhookBackoff(attempts int) time.Duration {
	return min(time.Second<<min(attempts, 16), webhookMaxWait)
}

// DeliverWebhooks posts the outbox's messages until ctx ends (Run starts
// it when Config.WebhookURL is set).
func (s *Server) DeliverWebhooks(ctx context.Context) {
	client := &http.Client{Timeout: webhookTimeout}
	periodic.Run(ctx, webhookEvery, func() {
		due, err := s.store.DueWebhooks(ctx, s.now(), 50)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "webhook: read the outbox", "err", err)
			}
			return
		}
		for _, d := range due {
			if ctx.Err() != nil {
				return
			}
			s.deliver(ctx, client, d)
		}
	})
}

// deliver claims and posts one message.
func (s *Server) deliver(ctx context.Context, client *http.Client, d storage.Delivery) {
	now := s.now()
	if ok, err := s.store.ClaimWebhook(ctx, d.ID, now, now.Add(webhookLease)); err != nil || !ok {
		return // another replica has it, or the database is away: later
	}
	err := s.post(ctx, client, d)
	if err == nil {
		err = s.store.DeliveredWebhook(ctx, d.ID)
		if err != nil {
			s.log.WarnContext(ctx, "webhook: delivered, but not marked so; it will be sent again", "id", d.ID, "err", err)
		}
		return
	}
	wait := webhookBackoff(d.Attempts)
	s.log.WarnContext(ctx, "webhook: delivery failed; retrying", "id", d.ID, "attempt", d.Attempts+1, "retry_in", wait, "err", err)
	if err := s.store.RetryWebhook(ctx, d.ID, s.now().Add(wait)); err != nil {
		s.log.WarnContext(ctx, "webhook: schedule the retry", "id", d.ID, "err", err)
	}
}

// post sends d; an answer other than 2xx is an error.
func (s *Server) post(ctx context.Context, client *http.Client, d storage.Delivery) error {
	req, err := http.NewRequestWithContext(ctx, "POST", s.cfg.WebhookURL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scanfree-Signature", WebhookSignature(s.cfg.WebhookSecret, d.Body))
	req.Header.Set("X-Scanfree-Delivery", strconv.FormatInt(d.ID, 10))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// WebhookSignature is the X-Scanfree-Signature of body under secret; a
// receiver computes it and compares in constant time.
func WebhookSignature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
