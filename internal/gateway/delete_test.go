package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

// TestDeleteMessage: deleting a message sent and the one received removes
// their records and every blob (files, raw message, raw MDN) of each side.
func TestDeleteMessage(t *testing.T) {
	ctx := context.Background()
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p := alpha.partnerOf(t, beta, nil)
	beta.partnerOf(t, alpha, nil)
	sent := alpha.waitFinal(t, alpha.send(t, p, "order.x12", []byte("ISA*00~")).ID)
	if sent.Status != as2gate.StatusSent {
		t.Fatalf("status %s: %s", sent.Status, sent.Reason)
	}
	var in []*as2gate.Message
	waitFor(t, 10*time.Second, func() bool { in = beta.inbound(t); return len(in) == 1 })

	for _, c := range []struct {
		n *node
		m *as2gate.Message
	}{{alpha, sent}, {beta, in[0]}} {
		keys := []string{c.m.RawKey, c.m.MDNKey, c.m.Files[0].Key}
		for _, k := range keys {
			if len(c.n.readMaybe(k)) == 0 {
				t.Fatalf("blob %s missing before the delete", k)
			}
		}
		if _, err := c.n.gw.DeleteMessage(ctx, c.m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.n.store.GetMessage(ctx, c.m.ID); as2gate.ErrorCode(err) != as2gate.ENotFound {
			t.Fatalf("record after delete: %v", err)
		}
		for _, k := range keys {
			if _, err := c.n.blobs.Stat(ctx, k); as2gate.ErrorCode(err) != as2gate.ENotFound {
				t.Errorf("blob %s after delete: %v", k, err)
			}
		}
		if _, err := c.n.gw.DeleteMessage(ctx, c.m.ID); as2gate.ErrorCode(err) != as2gate.ENotFound {
			t.Fatalf("second delete: %v", err)
		}
	}
}

// TestDeleteInterruptedPickup: the copies of a message not yet moved into
// place (a pickup or staging a crash interrupted) go with it, so that no
// scan finds the file and records it again.
func TestDeleteInterruptedPickup(t *testing.T) {
	ctx := context.Background()
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL = newFailing(t); p.RetryDelay = time.Hour })
	m := alpha.send(t, p, "order.x12", []byte("ISA*00~"))
	waitFor(t, 10*time.Second, func() bool { // the first attempt failed: deleting is allowed
		got, _ := alpha.store.GetMessage(ctx, m.ID)
		return got.Attempts == 1 && got.Status != as2gate.StatusSending
	})
	left := []string{
		"AS2/tmp/pickup/" + m.ID + "/" + as2gate.KeyElement("ALPHA") + "/" + as2gate.KeyElement("BETA") + "/order.x12",
		"AS2/tmp/staging/" + m.ID + "-file-0",
		"AS2/tmp/staging/" + m.ID + "-raw",
	}
	for _, k := range left {
		if _, err := alpha.blobs.Put(ctx, k, strings.NewReader("ISA*00~")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alpha.gw.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range left {
		if _, err := alpha.blobs.Stat(ctx, k); as2gate.ErrorCode(err) != as2gate.ENotFound {
			t.Errorf("%s after delete: %v", k, err)
		}
	}
}
