package server

import "sync"

// maxPollsPerTicket caps the long polls one replica holds open for a
// ticket: each costs a goroutine and a connection for up to PollTimeout.
// A page polls its ticket with one request at a time; a few more cover a
// reload or a second tab. Config.PollsPerAddress caps them per client.
const maxPollsPerTicket = 4

// pollCounts counts the long polls waiting per ticket and per client.
type pollCounts struct {
	perClient int

	mu       sync.Mutex
	byTicket map[string]int
	byClient map[string]int
}

// take admits one more poll of ticket from client and reports whether it
// did; an admitted poll is given back with done.
func (p *pollCounts) take(ticket, client string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byTicket == nil {
		p.byTicket, p.byClient = map[string]int{}, map[string]int{}
	}
	if p.byTicket[ticket] >= maxPollsPerTicket || p.byClient[client] >= p.perClient {
		return false
	}
	p.byTicket[ticket]++
	p.byClient[client]++
	return true
}

func (p *pollCounts) done(ticket, client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for m, k := range map[*map[string]int]string{&p.byTicket: ticket, &p.byClient: client} {
		if (*m)[k]--; (*m)[k] <= 0 {
			delete(*m, k)
		}
	}
}
