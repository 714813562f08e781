package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/service"
)

// pollInterval is how often `send --wait` looks at the message.
const pollInterval = 500 * time.Millisecond

func runSend(args []string, stdout, stderr io.Writer) error {
	// Recorded in the audit log as the CLI's, as the other commands are.
	return userError(send(service.WithActor(context.Background(), "cli", ""), args, stdout, stderr))
}

func send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("send", "FILE...", "Queues files to send to a partner as one AS2 message, and prints its record ID,\n"+
		"AS2 Message-ID and status. 'as2gate serve' sends it, also when already running.", true, stdout, stderr)
	station := m.fs.String("station", "", "our station's AS2 `ID` (or record ID)")
	partner := m.fs.String("partner", "", "the partner's AS2 `ID` (or record ID)")
	subject := m.fs.String("subject", "", "`subject` of the message (default: the partner's)")
	contentType := m.fs.String("content-type", "", "content `type` of the files (default: the partner's, or from each file)")
	wait := m.fs.Bool("wait", false, "wait until the message is sent or fails; exit non-zero unless sent")
	waitTimeout := m.fs.Duration("wait-timeout", 0, "give up waiting after this `time` (default: no limit)")
	paths, err := m.parse(args, -1)
	if err != nil {
		return err
	}
	if err := m.require("station", "partner"); err != nil {
		return err
	}
	req := client.SendRequest{Station: *station, Partner: *partner, Subject: *subject}
	for _, p := range paths {
		f, err := openRegular(p)
		if err != nil {
			return err
		}
		defer f.Close()
		req.Files = append(req.Files, client.SendFile{Name: filepath.Base(p), ContentType: *contentType, Content: f})
	}
	b, done, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	msg, err := b.Send(ctx, req)
	if err != nil {
		return err
	}
	if *wait {
		if msg, err = waitFinal(ctx, b, msg, *waitTimeout, stderr); err != nil {
			return err
		}
	}
	if err := m.print(msg, func(w *tabwriter.Writer) { printMessage(w, msg) }); err != nil {
		return err
	}
	if *wait && msg.Status != string(as2gate.StatusSent) {
		return fmt.Errorf("message %s was not sent: %s: %s", msg.ID, msg.Status, orDash(msg.Reason))
	}
	return nil
}

// openRegular opens a file to send, refusing what is not a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// waitFinal polls a message until no more work is scheduled for it.
func waitFinal(ctx context.Context, b backend, msg *client.Message, limit time.Duration, stderr io.Writer) (*client.Message, error) {
	// Interrupting the wait says where the message stands (it is queued
	// whatever happens: the wait only watches).
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	fmt.Fprintf(stderr, "message %s %s; waiting until it is sent or fails...\n", msg.ID, msg.Status)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !as2gate.Status(msg.Status).Final() {
		stopped := fmt.Errorf("stopped waiting: message %s is still %s", msg.ID, msg.Status)
		select {
		case <-ctx.Done():
			return nil, stopped
		case <-tick.C:
		}
		latest, err := b.GetMessage(ctx, msg.ID)
		if ctx.Err() != nil {
			return nil, stopped
		}
		if err != nil {
			return nil, err
		}
		msg = latest
	}
	return msg, nil
}
