package service

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/mime"
)

// received stores an inbound message as the gateway would, with a raw
// message whose headers are given and an unsigned MDN that we returned.
// The raw message holds credentials, as records stored before they were
// left out may.
func received(t *testing.T, s *Service, as2ID string) *as2gate.Message {
	t.Helper()
	ctx := context.Background()
	keys := as2gate.KeysFor("ST", "PA", as2gate.Inbound, as2gate.NewFolderName(s.now()))
	m := &as2gate.Message{Direction: as2gate.Inbound, StationAS2ID: "ST", PartnerAS2ID: "PA", MessageID: as2ID,
		Status: as2gate.StatusReceived, Folder: keys.Folder, RawKey: keys.Raw, MDNKey: keys.MDN,
		Files: []as2gate.File{{Name: "a.edi", Key: keys.Folder + "/a.edi", Size: 3}}}
	put := func(key, data string) {
		if _, err := s.gw.Blobs().Put(ctx, key, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	put(m.Files[0].Key, "ISA")
	put(m.RawKey, "POST /as2 HTTP/1.1\r\nAS2-From: PA\r\nAS2-To: ST\r\nMessage-ID: "+as2ID+"\r\nx-custom: 1\r\nX-Custom: 2\r\n"+
		"authorization: Basic cGE6c2VjcmV0\r\nProxy-Authorization: Basic cHJveHk6c2VjcmV0\r\nCOOKIE: s=secret\r\nSet-Cookie: t=secret\r\n\r\nbody")
	mdn, err := as2.BuildMDN(as2.MDNOptions{From: "ST", To: "PA", OriginalMessageID: as2ID, Disposition: as2.Processed()})
	if err != nil {
		t.Fatal(err)
	}
	var capture bytes.Buffer
	if err := mime.WriteHeader(&capture, mdn.Header); err != nil {
		t.Fatal(err)
	}
	capture.Write(mdn.Body)
	put(m.MDNKey, capture.String())
	if err := s.gw.Store().CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessageDetailAndMDN(t *testing.T) {
	s := newSender(t)
	ctx := context.Background()
	m := received(t, s, "<in-1@pa>")
	d, err := s.GetMessageDetail(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Read || d.ID != m.ID || strings.Join(d.Headers["X-Custom"], ",") != "1,2" || d.Headers["As2-From"][0] != "PA" {
		t.Fatalf("detail %+v", d)
	}
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"} {
		if v, ok := d.Headers[name]; ok {
			t.Errorf("detail shows the credential header %s: %q", name, v)
		}
	}
	mdn, err := s.GetMessageMDN(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mdn.OriginalMessageID != "<in-1@pa>" || !mdn.Processed || mdn.Signed || mdn.Direction != "out" {
		t.Fatalf("MDN %+v", mdn)
	}
	// A queued message has neither raw message nor MDN yet.
	sent, err := s.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{{Name: "f", Content: strings.NewReader("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.GetMessageDetail(ctx, sent.ID); err != nil || d.Headers != nil {
		t.Fatalf("detail of a queued message: %+v, %v", d, err)
	}
	_, err = s.GetMessageMDN(ctx, sent.ID)
	wantCode(t, err, as2gate.ENotFound, "")
}

func TestReadAndDelete(t *testing.T) {
	s := newSender(t)
	ctx := WithActor(context.Background(), "olga", "192.0.2.7")
	a, b := received(t, s, "<a@pa>"), received(t, s, "<b@pa>")
	if err := s.SetMessageRead(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, c := range []struct {
		read *bool
		want string
	}{{&yes, a.ID}, {&no, b.ID}} {
		list, err := s.ListMessages(ctx, client.MessageFilter{Read: c.read})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != c.want {
			t.Fatalf("read=%v: %+v, %v", *c.read, list, err)
		}
	}
	sent, err := s.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{{Name: "f", Content: strings.NewReader("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SetMessageRead(ctx, sent.ID, true), as2gate.EInvalid, "")

	res, err := s.DeleteMessages(ctx, "in", []string{a.ID, sent.ID, "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != a.ID || len(res.Failed) != 2 {
		t.Fatalf("bulk delete %+v", res)
	}
	if _, err := s.GetMessage(ctx, sent.ID); err != nil {
		t.Fatalf("an outbound message was deleted from the inbox: %v", err)
	}
	if _, err := s.gw.Blobs().Stat(ctx, a.RawKey); as2gate.ErrorCode(err) != as2gate.ENotFound {
		t.Fatalf("raw message after delete: %v", err)
	}
	if err := s.DeleteMessage(ctx, sent.ID); err != nil { // queued: canceled by the delete
		t.Fatal(err)
	}
	_, err = s.DeleteMessages(ctx, "", make([]string, 101))
	wantCode(t, err, as2gate.EInvalid, "ids")

	log, err := s.ListAudit(ctx, client.AuditFilter{Actor: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log.Items {
		got = append(got, e.Action+":"+e.Result)
		if e.Remote != "192.0.2.7" {
			t.Fatalf("entry %+v", e)
		}
	}
	// Entries of one millisecond have no order: compare them sorted.
	slices.Sort(got)
	want := "inbox.delete:ok,inbox.read:invalid,inbox.read:ok,message.send:ok,outbox.delete:ok"
	if strings.Join(got, ",") != want {
		t.Fatalf("audit %s\nwant  %s", strings.Join(got, ","), want)
	}
}
