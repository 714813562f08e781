package apitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"testing"

	"github.com/as2gate/as2gate/client"
)

// pair configures, as their managers do through the API, station A on a
// and station B on b, each the other's partner with the certificate that
// the other's station gives out.
func pair(t *testing.T, a, b *server) {
	t.Helper()
	for _, s := range []*server{a, b} {
		if _, err := s.as["manager"].CreateStation(ctx(t), client.StationInput{AS2ID: ptr(s.Name), Name: ptr("Station " + s.Name)}); err != nil {
			t.Fatal(err)
		}
	}
	link := func(from, to *server) {
		pem, err := to.as["viewer"].StationCertificatePEM(ctx(t), to.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := from.as["manager"].ImportCertificate(ctx(t), client.CertificateImport{Name: "station " + to.Name, Data: pem})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := from.as["manager"].CreatePartner(ctx(t), client.PartnerInput{AS2ID: ptr(to.Name), URL: ptr(to.URL()), EncryptCertID: &cert.ID}); err != nil {
			t.Fatal(err)
		}
	}
	link(a, b)
	link(b, a)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readAll(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTrip sends a message from server A to server B through the API,
// as business systems do: send on A, poll A's outbox until it is sent, find
// it among B's unread messages, download its files whole and by range, mark
// it read, and read the MDN on both sides, parsed and raw.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := start(t, "A"), start(t, "B")
	pair(t, a, b)

	order := bytes.Repeat([]byte("ISA*00*~GS*PO*A*B~ST*850*0001~BEG*00*SA*4711~\n"), 3000)
	invoice := []byte("UNA:+.? 'UNB+UNOC:3+A+B+260101:1200+1'UNH+1+INVOIC:D:96A:UN'")
	m, err := a.as["operator"].Send(ctx(t), client.SendRequest{Station: "A", Partner: "B", Subject: "Order 4711", Files: []client.SendFile{
		{Name: "order.x12", Content: bytes.NewReader(order)},
		{Name: "invoice.edi", ContentType: "application/edifact", Content: bytes.NewReader(invoice)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != "out" || m.Subject != "Order 4711" || m.StationAS2ID != "A" || m.PartnerAS2ID != "B" || len(m.Files) != 2 ||
		m.Files[0].Name != "order.x12" || m.Files[0].SHA256 != sum(order) || m.Files[1].Size != int64(len(invoice)) ||
		m.Files[1].ContentType != "application/edifact" {
		t.Fatalf("sent %+v", m)
	}
	sent := waitSent(t, a.as["viewer"], m.ID)
	if sent.MICMatched == nil || !*sent.MICMatched || !sent.Signed || !sent.Encrypted || sent.MDNDisposition == "" {
		t.Fatalf("sent %+v", sent)
	}

	// A read filter selects received messages, whichever box is asked:
	// A has sent this message and received none.
	for _, f := range []client.MessageFilter{{Read: ptr(false)}, {Direction: "out", Read: ptr(true)}, {Direction: "out", Read: ptr(false)}} {
		if list, err := a.as["viewer"].ListMessages(ctx(t), f); err != nil || len(list.Items) != 0 {
			t.Fatalf("A's messages read=%v direction=%q: %+v (%v), want none", *f.Read, f.Direction, list, err)
		}
	}
	if list, err := a.as["viewer"].ListMessages(ctx(t), client.MessageFilter{}); err != nil || len(list.Items) != 1 || list.Items[0].ID != m.ID {
		t.Fatalf("A's messages: %+v (%v), want %s alone", list, err, m.ID)
	}

	// B's unread messages: this one alone.
	viewer := b.as["viewer"]
	unread, err := viewer.ListMessages(ctx(t), client.MessageFilter{Direction: "in", Read: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(unread.Items) != 1 || unread.Items[0].MessageID != sent.MessageID {
		t.Fatalf("B's unread messages %+v, want %s", unread.Items, sent.MessageID)
	}
	in := unread.Items[0]
	if in.Direction != "in" || in.Status != "received" || in.Subject != "Order 4711" || in.StationAS2ID != "B" || in.PartnerAS2ID != "A" ||
		!in.Signed || !in.Encrypted || len(in.Files) != 2 || in.Files[0].SHA256 != sum(order) || in.Files[1].Name != "invoice.edi" {
		t.Fatalf("received %+v", in)
	}
	files, err := viewer.ListMessageFiles(ctx(t), in.ID)
	if err != nil || !slices.Equal(files, in.Files) {
		t.Fatalf("files %+v (%v), want %+v", files, err, in.Files)
	}

	// The files, whole and by range.
	rc, f, err := viewer.OpenMessageFile(ctx(t), in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rc); !bytes.Equal(got, order) || f.Name != "order.x12" || f.Size != int64(len(order)) || f.SHA256 != sum(order) {
		t.Fatalf("file 0: %d bytes, %+v", len(got), f)
	}
	ranges := []struct{ offset, length int64 }{{1000, 500}, {0, 1}, {int64(len(order)) - 10, 0}, {int64(len(order)) - 10, 100}}
	for _, r := range ranges {
		rc, f, err := viewer.OpenMessageFileRange(ctx(t), in.ID, 0, r.offset, r.length)
		if err != nil {
			t.Fatal(err)
		}
		end := int64(len(order))
		if r.length > 0 {
			end = min(end, r.offset+r.length)
		}
		if got := readAll(t, rc); !bytes.Equal(got, order[r.offset:end]) || f.Size != int64(len(order)) {
			t.Fatalf("range %+v: %q, size %d", r, got, f.Size)
		}
	}
	if _, _, err := viewer.OpenMessageFileRange(ctx(t), in.ID, 0, int64(len(order))+1, 0); err == nil {
		t.Fatal("a range past the end was served")
	} else {
		apiError(t, err, 416, "")
	}
	rc, f, err = viewer.OpenMessageFile(ctx(t), in.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rc); !bytes.Equal(got, invoice) || f.ContentType != "application/edifact" {
		t.Fatalf("file 1: %q, %+v", got, f)
	}
	_, _, err = viewer.OpenMessageFile(ctx(t), in.ID, 2)
	apiError(t, err, 404, "not_found")

	// The detail, then read and unread.
	d, err := viewer.GetMessageDetail(ctx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Read || d.ID != in.ID || !slices.Equal(d.Headers["As2-From"], []string{"A"}) || !slices.Equal(d.Headers["Message-Id"], []string{sent.MessageID}) {
		t.Fatalf("detail %+v", d)
	}
	err = viewer.MarkRead(ctx(t), in.ID, true)
	apiError(t, err, 403, "forbidden")
	if err := b.as["operator"].MarkRead(ctx(t), in.ID, true); err != nil {
		t.Fatal(err)
	}
	for read, want := range map[bool]int{false: 0, true: 1} {
		list, err := viewer.ListMessages(ctx(t), client.MessageFilter{Direction: "in", Read: &read})
		if err != nil || len(list.Items) != want {
			t.Fatalf("read=%v: %+v %v", read, list, err)
		}
	}
	if d, err := viewer.GetMessageDetail(ctx(t), in.ID); err != nil || !d.Read {
		t.Fatalf("after marking read: %+v %v", d, err)
	}
	if err := b.as["operator"].MarkRead(ctx(t), in.ID, false); err != nil {
		t.Fatal(err)
	}
	if d, err := viewer.GetMessageDetail(ctx(t), in.ID); err != nil || d.Read {
		t.Fatalf("after marking unread: %+v %v", d, err)
	}

	// The MDN: the one B returned and the one A received are the same.
	returned, err := viewer.GetMessageMDN(ctx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	received, err := a.as["viewer"].GetMessageMDN(ctx(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if returned.Direction != "out" || received.Direction != "in" || !returned.Processed || !returned.Signed ||
		returned.OriginalMessageID != sent.MessageID || received.MessageID != returned.MessageID || received.MIC != sent.MIC ||
		received.MICMatched == nil || !*received.MICMatched || received.Signer == "" {
		t.Fatalf("MDN returned by B %+v, received by A %+v (message %+v)", returned, received, sent)
	}
	rawB, err := viewer.MessageMDN(ctx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	rawA, err := a.as["viewer"].MessageMDN(ctx(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, bodyA, _ := bytes.Cut(rawA, []byte("\r\n\r\n"))
	_, bodyB, _ := bytes.Cut(rawB, []byte("\r\n\r\n"))
	if len(bodyA) == 0 || !bytes.Equal(bodyA, bodyB) || !bytes.Contains(rawA, []byte(returned.MessageID)) {
		t.Fatalf("raw MDN received by A:\n%s\nreturned by B:\n%s", rawA, rawB)
	}
}
