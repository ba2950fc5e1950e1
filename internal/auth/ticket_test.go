package auth

import (
	"encoding/base64"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestTickets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewTickets(30*time.Second, 3)
		scope := mustBind(t, mustCompile(t, tenantRules), `{"tenant_id":7}`)
		id := &Identity{Subject: "alice", Method: MethodJWT, Source: SourceHeader, Expires: time.Now().Add(time.Hour), Scope: scope}

		tk, err := store.Mint(id)
		if err != nil {
			t.Fatal(err)
		}
		if !IsTicket(tk.Value) || len(tk.Value) != ticketLen || !tk.Expires.Equal(time.Now().Add(30*time.Second)) {
			t.Fatalf("ticket %q expires %v", tk.Value, tk.Expires)
		}
		got, err := store.Redeem(tk.Value)
		if err != nil {
			t.Fatal(err)
		}
		if got.Scope != scope || got.Subject != "alice" || !got.Ticket || !got.Expires.Equal(id.Expires) {
			t.Errorf("redeemed %+v: want the minting identity, marked Ticket", got)
		}
		_, err = store.Redeem(tk.Value)
		checkRefusal(t, "second use", err, ReasonTicket, tk.Value)

		// A ticket cannot mint a ticket.
		_, err = store.Mint(got)
		checkRefusal(t, "ticket from a ticket", err, ReasonTicket)

		// Expiry after the TTL.
		tk, _ = store.Mint(id)
		time.Sleep(30 * time.Second)
		_, err = store.Redeem(tk.Value)
		checkRefusal(t, "expired ticket", err, ReasonTicket, tk.Value)

		// Never later than the token.
		short := *id
		short.Expires = time.Now().Add(5 * time.Second)
		tk, _ = store.Mint(&short)
		if !tk.Expires.Equal(short.Expires) {
			t.Errorf("ticket of a token expiring in 5s expires at %v", tk.Expires)
		}
		time.Sleep(5 * time.Second)
		_, err = store.Redeem(tk.Value)
		checkRefusal(t, "ticket past its token", err, ReasonTicket, tk.Value)
		_, err = store.Mint(&short)
		checkRefusal(t, "expired identity", err, ReasonExpired)

		// A forged secret with a real identifier burns the ticket.
		tk, _ = store.Mint(id)
		raw, err := base64.RawURLEncoding.DecodeString(tk.Value[len(ticketPrefix):])
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)-1] ^= 1 // the last byte of the secret
		forged := ticketPrefix + base64.RawURLEncoding.EncodeToString(raw)
		_, err = store.Redeem(forged)
		checkRefusal(t, "forged secret", err, ReasonTicket, tk.Value)
		_, err = store.Redeem(tk.Value)
		checkRefusal(t, "ticket after a forgery", err, ReasonTicket)

		// Bounded: full of live tickets, Mint refuses; once they expire, a
		// sweep makes room.
		for store.Len() < 3 {
			if _, err := store.Mint(id); err != nil {
				t.Fatal(err)
			}
		}
		_, err = store.Mint(id)
		checkRefusal(t, "store full", err, ReasonBusy)
		time.Sleep(31 * time.Second)
		if _, err := store.Mint(id); err != nil || store.Len() != 1 {
			t.Errorf("after expiry: %v, %d stored", err, store.Len())
		}

		for _, bad := range []string{"", "pgt_", "pgt_" + string(make([]byte, 64)), tk.Value[:len(tk.Value)-1], "eyJhbGciOi.x.y"} {
			_, err := store.Redeem(bad)
			checkRefusal(t, "malformed ticket", err, ReasonTicket)
		}
	})
}

func TestTicketsConcurrentSingleUse(t *testing.T) {
	store := NewTickets(0, 0)
	id := &Identity{Method: MethodToken, Scope: Unrestricted}
	tk, err := store.Mint(id)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			if _, err := store.Redeem(tk.Value); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("a ticket was redeemed %d times", wins)
	}
}

func TestDisconnectJitter(t *testing.T) {
	now := time.Now()
	for _, life := range []time.Duration{time.Second, 2 * time.Minute, time.Hour} {
		seen := map[time.Time]bool{}
		for range 50 {
			id := newIdentity(Identity{Expires: now.Add(life), Scope: Unrestricted}, now)
			d := id.DisconnectAt()
			window := min(life/10, MaxDisconnectJitter)
			if d.After(id.Expires) || d.Before(id.Expires.Add(-window)) {
				t.Fatalf("lifetime %v: disconnect at %v, want within %v before %v", life, d, window, id.Expires)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("lifetime %v: only %d distinct disconnect times of 50", life, len(seen))
		}
	}
	if !newIdentity(Identity{Scope: Unrestricted}, now).DisconnectAt().IsZero() {
		t.Error("an identity that does not expire has a disconnect time")
	}
}
