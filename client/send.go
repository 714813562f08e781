package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
)

// Send uploads the files and queues the message, and returns it as the
// outbox shows it. The files are streamed one after the other as a
// multipart/form-data body, read as they are sent: none is held in memory,
// whatever its size.
//
// Once the server has accepted the message, Send does not fail: should
// the outbox not answer then, the message is returned as the acceptance
// described it (ID, Message-ID, status), so that it is not sent twice.
func (c *Client) Send(ctx context.Context, r SendRequest) (*Message, error) {
	acc, err := c.upload(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := fetch[Message](ctx, c, "GET", "/outbox/"+seg(acc.ID), nil, nil)
	if err != nil {
		return &Message{ID: acc.ID, Direction: "out", MessageID: acc.MessageID, Status: acc.Status,
			StationAS2ID: r.Station, PartnerAS2ID: r.Partner, Subject: r.Subject, Files: []File{}}, nil
	}
	return m, nil
}

// fileError is a failure to read a file being sent: the caller's, not the
// server's.
type fileError struct {
	name string
	err  error
}

func (e *fileError) Error() string {
	return fmt.Sprintf("as2gate client: reading file %q: %v", e.name, e.err)
}
func (e *fileError) Unwrap() error { return e.err }

// errUploadDone ends the writing of a body the server has answered.
var errUploadDone = errors.New("the server has answered")

// upload posts the send form; a goroutine writes it into a pipe as the
// request reads it.
func (c *Client) upload(ctx context.Context, r SendRequest) (*SendAccepted, error) {
	// Every part's header is checked before anything is sent.
	headers := make([]textproto.MIMEHeader, len(r.Files))
	for i, f := range r.Files {
		h, err := partHeader(f)
		if err != nil {
			return nil, err
		}
		headers[i] = h
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan error, 1)
	go func() {
		err := writeForm(mw, r, headers)
		pw.CloseWithError(err) // nil: the body ends here
		written <- err
	}()
	resp, err := c.do(ctx, "POST", "/messages", nil, pr, http.Header{
		"Content-Type": {mw.FormDataContentType()}, "Accept": {"application/json"}})
	// The server may answer before reading the whole body (a refusal):
	// the writer stops at its next write, and no file is read after Send
	// returns.
	pr.CloseWithError(errUploadDone)
	werr := <-written
	if err != nil {
		// A file that could not be read is the cause of the failure,
		// unless the server answered first.
		if fe, ok := errors.AsType[*fileError](werr); ok {
			if _, answered := errors.AsType[*APIError](err); !answered {
				return nil, fe
			}
		}
		return nil, err
	}
	defer resp.Body.Close()
	var acc SendAccepted
	if err := json.NewDecoder(&boundedReader{r: resp.Body, left: maxJSON}).Decode(&acc); err != nil {
		return nil, fmt.Errorf("as2gate client: reading the answer to POST /messages: %w", err)
	}
	return &acc, nil
}

// partHeader is the header of a file's part: its name (RFC 2231-encoded
// when it is not plain ASCII, so that no character of it can end the
// header line) and its content type, or application/octet-stream for the
// server to detect it.
func partHeader(f SendFile) (textproto.MIMEHeader, error) {
	if f.Content == nil {
		return nil, fmt.Errorf("as2gate client: file %q has no content", f.Name)
	}
	params := map[string]string{"name": "file"}
	if f.Name != "" {
		params["filename"] = f.Name
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", params))
	ct := "application/octet-stream"
	if f.ContentType != "" {
		mt, params, err := mime.ParseMediaType(f.ContentType)
		if err == nil {
			ct = mime.FormatMediaType(mt, params)
		}
		if err != nil || ct == "" {
			return nil, fmt.Errorf("as2gate client: file %q: content type %q is not a media type", f.Name, f.ContentType)
		}
	}
	h.Set("Content-Type", ct)
	return h, nil
}

// writeForm writes the text fields, then the files, then the closing
// boundary.
func writeForm(mw *multipart.Writer, r SendRequest, headers []textproto.MIMEHeader) error {
	for _, field := range []struct{ name, value string }{{"station", r.Station}, {"partner", r.Partner}, {"subject", r.Subject}} {
		if field.value == "" {
			continue // the server names a missing field; a subject left out is the partner's
		}
		if err := mw.WriteField(field.name, field.value); err != nil {
			return err
		}
	}
	for i, f := range r.Files {
		w, err := mw.CreatePart(headers[i])
		if err != nil {
			return err
		}
		src := &sourceReader{r: f.Content}
		if _, err := io.Copy(w, src); err != nil {
			if src.err != nil {
				return &fileError{name: f.Name, err: src.err}
			}
			return err
		}
	}
	return mw.Close()
}

// sourceReader remembers a read error, to tell it from a write error.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
