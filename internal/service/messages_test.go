package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// newSender is a service with station ST and partner PA (nobody listens at
// its URL, and no worker runs: messages stay queued).
func newSender(t *testing.T) *Service {
	t.Helper()
	s := newService(t)
	ctx := context.Background()
	if _, err := s.CreateStation(ctx, client.StationInput{AS2ID: ptr("ST")}); err != nil {
		t.Fatal(err)
	}
	cert, err := s.ImportCertificate(ctx, client.CertificateImport{Data: partnerCertPEM(t, "messages partner")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePartner(ctx, client.PartnerInput{AS2ID: ptr("PA"), URL: ptr("http://127.0.0.1:9/as2"), EncryptCertID: &cert.ID}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSend(t *testing.T) {
	s := newSender(t)
	ctx := context.Background()
	file := func(name, content string) client.SendFile {
		return client.SendFile{Name: name, Content: strings.NewReader(content)}
	}
	tests := []struct {
		name      string
		req       client.SendRequest
		wantCode  as2gate.Code
		wantField string
	}{
		{"two files", client.SendRequest{Station: "ST", Partner: "PA", Subject: "Orders", Files: []client.SendFile{file("a.x12", "ISA*00~"), file("b.txt", "hello")}}, "", ""},
		{"no files", client.SendRequest{Station: "ST", Partner: "PA"}, as2gate.EInvalid, "files"},
		{"no content", client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{{Name: "x"}}}, as2gate.EInvalid, "files"},
		{"unknown partner", client.SendRequest{Station: "ST", Partner: "NOPE", Files: []client.SendFile{file("a", "x")}}, as2gate.EInvalid, "partner"},
		{"unknown station", client.SendRequest{Station: "NOPE", Partner: "PA", Files: []client.SendFile{file("a", "x")}}, as2gate.EInvalid, "station"},
		{"bad content type", client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{{Name: "a", ContentType: "not a type", Content: strings.NewReader("x")}}}, as2gate.EInvalid, "content_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := s.Send(ctx, tt.req)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != "queued" || m.Direction != "out" || m.StationAS2ID != "ST" || m.PartnerAS2ID != "PA" ||
				m.Subject != tt.req.Subject || m.MessageID == "" || len(m.Files) != len(tt.req.Files) || m.MDNMode != "sync" {
				t.Fatalf("message %+v", m)
			}
			for i, f := range m.Files {
				if f.Index != i || f.Name != tt.req.Files[i].Name {
					t.Fatalf("file %d: %+v", i, f)
				}
			}
			got, err := s.GetMessage(ctx, m.ID)
			if err != nil || got.ID != m.ID || got.Size != m.Size || got.Size != int64(len("ISA*00~")+len("hello")) {
				t.Fatalf("stored %+v, %v", got, err)
			}
		})
	}
}

func TestMessageFilesAndMDN(t *testing.T) {
	s := newSender(t)
	ctx := context.Background()
	content := bytes.Repeat([]byte("UNB+UNOA:2'\r\n"), 1000)
	m, err := s.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{
		{Name: "one.edi", Content: bytes.NewReader(content)}, {Name: "two.txt", ContentType: "text/plain", Content: strings.NewReader("two")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		index    int
		want     []byte
		wantType string
		wantCode as2gate.Code
	}{
		{0, content, "application/edifact", ""},
		{1, []byte("two"), "text/plain", ""},
		{2, nil, "", as2gate.ENotFound},
		{-1, nil, "", as2gate.ENotFound},
	} {
		rc, f, err := s.OpenMessageFile(ctx, m.ID, tt.index)
		if tt.wantCode != "" {
			wantCode(t, err, tt.wantCode, "")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		sum := sha256.Sum256(tt.want)
		if !bytes.Equal(got, tt.want) || f.Index != tt.index || f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(tt.want)) ||
			!strings.HasPrefix(f.ContentType, tt.wantType) {
			t.Fatalf("file %d: %+v, %d bytes", tt.index, f, len(got))
		}
	}
	_, _, err = s.OpenMessageFile(ctx, as2gate.NewID(), 0)
	wantCode(t, err, as2gate.ENotFound, "")

	_, err = s.MessageMDN(ctx, m.ID)
	wantCode(t, err, as2gate.ENotFound, "")
	// What the gateway stores when the MDN comes is what MessageMDN returns.
	stored, _ := s.gw.Store().GetMessage(ctx, m.ID)
	mdn := "Content-Type: multipart/report; report-type=disposition-notification\r\n\r\nreport body"
	if _, err := s.gw.Blobs().Put(ctx, stored.MDNKey, strings.NewReader(mdn)); err != nil {
		t.Fatal(err)
	}
	got, err := s.MessageMDN(ctx, m.ID)
	if err != nil || string(got) != mdn {
		t.Fatalf("MDN %q, %v", got, err)
	}
	if _, err := s.gw.Blobs().Put(ctx, stored.MDNKey, bytes.NewReader(make([]byte, maxStoredMDN+1))); err != nil {
		t.Fatal(err)
	}
	_, err = s.MessageMDN(ctx, m.ID)
	wantCode(t, err, as2gate.ETooLarge, "")
}

func TestCancelAndResend(t *testing.T) {
	s := newSender(t)
	ctx := context.Background()
	m, err := s.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Files: []client.SendFile{{Name: "a", Content: strings.NewReader("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		do         func(context.Context, string) (*client.Message, error)
		id         string
		wantStatus string
		wantCode   as2gate.Code
	}{
		{"resend while queued", s.ResendMessage, m.ID, "", as2gate.EConflict},
		{"cancel", s.CancelMessage, m.ID, "canceled", ""},
		{"cancel again", s.CancelMessage, m.ID, "", as2gate.EConflict},
		{"resend", s.ResendMessage, m.ID, "queued", ""},
		{"cancel unknown", s.CancelMessage, as2gate.NewID(), "", as2gate.ENotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, err := st.do(ctx, st.id)
			if st.wantCode != "" {
				wantCode(t, err, st.wantCode, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := s.GetMessage(ctx, st.id)
			if got.Status != st.wantStatus || stored.Status != st.wantStatus || got.MessageID != m.MessageID {
				t.Fatalf("returned %s, stored %s, want %s", got.Status, stored.Status, st.wantStatus)
			}
		})
	}
}

func TestListMessages(t *testing.T) {
	s := newSender(t)
	ctx := context.Background()
	var ids []string // oldest first
	for i := range 3 {
		m, err := s.Send(ctx, client.SendRequest{Station: "ST", Partner: "PA", Subject: []string{"alpha", "beta", "gamma"}[i],
			Files: []client.SendFile{{Name: "f", Content: strings.NewReader("x")}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		time.Sleep(2 * time.Millisecond) // IDs sort by millisecond
	}
	if _, err := s.CancelMessage(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		f          client.MessageFilter
		wantIDs    []string
		wantCursor string
		wantCode   as2gate.Code
		wantField  string
	}{
		{"all", client.MessageFilter{}, []string{ids[2], ids[1], ids[0]}, "", "", ""},
		{"first page", client.MessageFilter{Limit: 2}, []string{ids[2], ids[1]}, ids[1], "", ""},
		{"second page", client.MessageFilter{Limit: 2, Cursor: ids[1]}, []string{ids[0]}, "", "", ""},
		{"out, by station and partner", client.MessageFilter{Direction: "out", Station: "ST", Partner: "PA"}, []string{ids[2], ids[1], ids[0]}, "", "", ""},
		{"in", client.MessageFilter{Direction: "in"}, nil, "", "", ""},
		{"queued", client.MessageFilter{Status: []string{"queued"}}, []string{ids[2], ids[1]}, "", "", ""},
		{"canceled or failed", client.MessageFilter{Status: []string{"canceled", "failed"}}, []string{ids[0]}, "", "", ""},
		{"subject", client.MessageFilter{Subject: "ETA"}, []string{ids[1]}, "", "", ""},
		{"since", client.MessageFilter{Since: time.Now().Add(time.Hour)}, nil, "", "", ""},
		{"bad direction", client.MessageFilter{Direction: "sideways"}, nil, "", as2gate.EInvalid, "direction"},
		{"bad status", client.MessageFilter{Status: []string{"lost"}}, nil, "", as2gate.EInvalid, "status"},
		{"a status repeated", client.MessageFilter{Status: []string{"queued", "queued"}}, []string{ids[2], ids[1]}, "", "", ""},
		{"too many statuses", client.MessageFilter{Status: slices.Repeat([]string{"queued"}, 40_000)}, nil, "", as2gate.EInvalid, "status"},
		{"unknown station", client.MessageFilter{Station: "NOPE"}, nil, "", as2gate.EInvalid, "station"},
		{"unknown partner", client.MessageFilter{Partner: "NOPE"}, nil, "", as2gate.EInvalid, "partner"},
		{"bad cursor", client.MessageFilter{Cursor: "../../etc"}, nil, "", as2gate.EInvalid, "cursor"},
		{"limit too high", client.MessageFilter{Limit: 1001}, nil, "", as2gate.EInvalid, "limit"},
		{"negative limit", client.MessageFilter{Limit: -1}, nil, "", as2gate.EInvalid, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListMessages(ctx, tt.f)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode, tt.wantField)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range list.Items {
				got = append(got, m.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") || list.NextCursor != tt.wantCursor || list.Items == nil {
				t.Fatalf("got %v cursor %q, want %v cursor %q", got, list.NextCursor, tt.wantIDs, tt.wantCursor)
			}
		})
	}
}
