package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/mime"
)

func runMessage(args []string, stdout, stderr io.Writer) error {
	return runGroup("message", []subcommand{
		{"list", "list messages, newest first", messageList},
		{"show", "show a message, its files and its MDN's outcome", messageShow},
		{"download", "write the files of a message", messageDownload},
		{"mdn", "print the MDN of a message as stored (see as2gate inspect)", messageMDN},
		{"resend", "send a message again, with the same Message-ID", messageResend},
		{"cancel", "cancel a message still queued", messageCancel},
	}, args, stdout, stderr)
}

func messageList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("message list", "", "Lists messages, newest first, a page at a time: when there are more, the flag that\n"+
		"gives the next page is printed on stderr.", true, stdout, stderr)
	var f client.MessageFilter
	var statuses stringList
	var since, until string
	m.fs.StringVar(&f.Direction, "direction", "", "in (received) or out (sent)")
	m.fs.Var(&statuses, "status", "only messages in this `status` (repeatable, or comma-separated): queued, sending,\n"+
		"awaiting_mdn, sent, incomplete, failed, mic_mismatch, canceled, received, rejected")
	m.fs.StringVar(&f.Station, "station", "", "only messages of this station (AS2 `ID` or record ID)")
	m.fs.StringVar(&f.Partner, "partner", "", "only messages with this partner (AS2 `ID` or record ID)")
	m.fs.StringVar(&f.Subject, "subject", "", "only messages whose subject contains this `text`")
	m.fs.StringVar(&f.MessageID, "message-id", "", "only the message with this AS2 Message-`ID`")
	m.fs.StringVar(&since, "since", "", "only messages created from this `time` on (2006-01-02 or RFC 3339)")
	m.fs.StringVar(&until, "until", "", "only messages created before this `time`")
	m.fs.IntVar(&f.Limit, "limit", 50, "messages per `page` (at most 1000)")
	m.fs.StringVar(&f.Cursor, "cursor", "", "the `cursor` of the next page, as printed by the previous one")
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	for _, s := range statuses {
		for _, st := range strings.Split(s, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.Status = append(f.Status, st)
			}
		}
	}
	var err error
	if f.Since, err = parseTime("since", since); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", until); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.List[client.Message], error) { return b.ListMessages(ctx, f) },
		func(_ backend, list *client.List[client.Message]) error {
			err := m.print(list, func(w *tabwriter.Writer) {
				row(w, "ID", "DIR", "STATUS", "STATION", "PARTNER", "FILES", "SIZE", "CREATED", "SUBJECT")
				for _, msg := range list.Items {
					row(w, msg.ID, msg.Direction, msg.Status, msg.StationAS2ID, msg.PartnerAS2ID, strconv.Itoa(len(msg.Files)),
						strconv.FormatInt(msg.Size, 10), date(msg.CreatedAt), msg.Subject)
				}
			})
			if err == nil && list.NextCursor != "" && !m.json {
				fmt.Fprintf(stderr, "more messages: --cursor %s\n", list.NextCursor)
			}
			return err
		})
}

// parseTime reads a date (midnight, local time) or an RFC 3339 time.
func parseTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, &exitError{status: 2, err: fmt.Errorf("--%s %q: want 2006-01-02 or 2006-01-02T15:04:05Z07:00", flagName, s)}
	}
	return t, nil
}

// messageCommand is the common shape of the commands on one message.
func messageCommand(ctx context.Context, name, about string, args []string, stdout, stderr io.Writer,
	do func(b backend, id string) (*client.Message, error)) error {
	m := newMgmt("message "+name, "ID", about, true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Message, error) { return do(b, pos[0]) }, printWith(m, printMessage))
}

func messageShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return messageCommand(ctx, "show", "Shows a message, its files and the outcome of its MDN.", args, stdout, stderr,
		func(b backend, id string) (*client.Message, error) { return b.GetMessage(ctx, id) })
}

func messageResend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return messageCommand(ctx, "resend", "Queues a sent (or failed) message again, with the same Message-ID, so that the\n"+
		"partner recognises it as the same message.", args, stdout, stderr,
		func(b backend, id string) (*client.Message, error) { return b.ResendMessage(ctx, id) })
}

func messageCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return messageCommand(ctx, "cancel", "Cancels a message that is still queued.", args, stdout, stderr,
		func(b backend, id string) (*client.Message, error) { return b.CancelMessage(ctx, id) })
}

func printMessage(w io.Writer, m *client.Message) {
	row(w, "ID:", m.ID)
	row(w, "Message-ID:", m.MessageID)
	row(w, "Status:", m.Status)
	if m.Reason != "" {
		row(w, "Reason:", m.Reason)
	}
	row(w, "Direction:", m.Direction)
	row(w, "Station:", m.StationAS2ID)
	row(w, "Partner:", m.PartnerAS2ID)
	row(w, "Subject:", m.Subject)
	row(w, "Attempts:", strconv.Itoa(m.Attempts))
	row(w, "Security:", orDash(m.Algorithms))
	if m.MIC != "" {
		row(w, "MIC:", m.MIC)
	}
	mdn := m.MDNMode
	if m.MDNDisposition != "" {
		mdn += ": " + m.MDNDisposition
	}
	if m.MDNStatus != "" {
		mdn += " (" + m.MDNStatus + ")"
	}
	if m.MICMatched != nil {
		mdn += ", MIC " + map[bool]string{true: "matched", false: "DID NOT MATCH"}[*m.MICMatched]
	}
	row(w, "MDN:", mdn)
	row(w, "Created:", date(m.CreatedAt))
	row(w, "Completed:", date(m.CompletedAt))
	for _, f := range m.Files {
		row(w, "File "+strconv.Itoa(f.Index)+":", fmt.Sprintf("%s (%s, %d bytes, sha256 %s)", f.Name, f.ContentType, f.Size, f.SHA256))
	}
}

func messageMDN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("message mdn", "ID", "Prints the MDN of a message as stored: headers, an empty line, the body (the form\n"+
		"'as2gate inspect' reads): the one received for a message sent, the one returned for a message received.", false, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]byte, error) { return b.MessageMDN(ctx, pos[0]) }, m.writeRaw)
}

func messageDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("message download", "ID", "Writes the files of a message: one file to stdout, or to --out FILE; all of them\n"+
		"(or the one --index picks) into the directory --out DIR, under their own names. DIR is made\n"+
		"when missing if it ends with a slash or the message has several files.", false, stdout, stderr)
	index := m.fs.Int("index", -1, "only the file with this `index` (from 0, as message show lists them)")
	out := m.fs.String("out", "", "a `file` to write the one file to, or a directory for all of them (made when missing)")
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	b, done, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	msg, err := b.GetMessage(ctx, pos[0])
	if err != nil {
		return err
	}
	// Files are numbered by their place in the list, whatever a server
	// says their index is.
	indexes := []int{*index}
	if *index < 0 {
		indexes = nil
		for i := range msg.Files {
			indexes = append(indexes, i)
		}
	}
	switch {
	case len(msg.Files) == 0:
		return fmt.Errorf("message %s has no files", msg.ID)
	case *index >= len(msg.Files):
		return fmt.Errorf("message %s has no file %d (it has %d, from 0)", msg.ID, *index, len(msg.Files))
	}
	dir := ""
	if fi, err := os.Stat(*out); err == nil && fi.IsDir() {
		dir = *out
	} else if *out != "" && (len(indexes) > 1 || os.IsPathSeparator((*out)[len(*out)-1])) {
		// Several files, or a name ending in a slash: a directory is meant.
		if err := os.MkdirAll(*out, 0o750); err != nil {
			return err
		}
		dir = *out
	} else if len(indexes) > 1 {
		return &exitError{status: 2, err: fmt.Errorf("message %s has %d files: give --index, or --out with a directory", msg.ID, len(indexes))}
	}
	written := map[string]bool{}
	for _, i := range indexes {
		switch {
		case dir != "":
			// The names were made safe when stored; a server is not
			// trusted to have done it, nor to have made them unique.
			name := mime.SafeFilename(msg.Files[i].Name)
			if name == "" {
				name = fmt.Sprintf("file-%d", i)
			}
			if written[strings.ToLower(name)] {
				return fmt.Errorf("message %s has two files named %q: give --index", msg.ID, name)
			}
			written[strings.ToLower(name)] = true
			err = downloadTo(ctx, b, msg.ID, i, filepath.Join(dir, name), stderr)
		case *out != "":
			err = downloadTo(ctx, b, msg.ID, i, *out, stderr)
		default:
			err = download(ctx, b, msg.ID, i, stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// download streams a file of a message to w and checks its digest.
func download(ctx context.Context, b backend, id string, index int, w io.Writer) error {
	rc, f, err := b.OpenMessageFile(ctx, id, index)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
		return fmt.Errorf("file %d of message %s: %w", index, id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); f.SHA256 != "" && got != f.SHA256 {
		return fmt.Errorf("file %d of message %s is damaged: SHA-256 %s, %s recorded", index, id, got, f.SHA256)
	}
	return nil
}

// downloadTo writes a file of a message to path; a file already there is
// replaced only once the download is complete and checked.
func downloadTo(ctx context.Context, b backend, id string, index int, path string, stderr io.Writer) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := download(ctx, b, id, index, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "wrote", path)
	return nil
}
