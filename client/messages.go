package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Messages. The API keeps them in two boxes, the inbox (received) and the
// outbox (sent, queued, failed...), and names them by record ID. The
// methods that take only an ID find the box of the message first, so that
// they work as the server's own service does, on either.

// ListMessages returns a page of messages, newest first: of both boxes,
// or of the one Direction names. A Read filter selects received messages
// only. NextCursor is set when the page is full: the next one may be empty.
func (c *Client) ListMessages(ctx context.Context, f MessageFilter) (*List[Message], error) {
	q := url.Values{}
	setQuery(q, "direction", f.Direction)
	setQuery(q, "station", f.Station)
	setQuery(q, "partner", f.Partner)
	setQuery(q, "subject", f.Subject)
	setQuery(q, "message_id", f.MessageID)
	setTime(q, "since", f.Since)
	setTime(q, "until", f.Until)
	setQuery(q, "cursor", f.Cursor)
	setLimit(q, f.Limit)
	if f.Read != nil {
		q.Set("read", strconv.FormatBool(*f.Read))
	}
	q["status"] = f.Status
	return fetch[List[Message]](ctx, c, "GET", "/messages", q, nil)
}

// inEitherBox calls try with the outbox, then with the inbox if the
// message is not found there.
func inEitherBox(try func(box string) error) error {
	err := try("outbox")
	if e, ok := errors.AsType[*APIError](err); ok && e.Status == http.StatusNotFound {
		err = try("inbox")
	}
	return err
}

// box returns the box that holds a message: "inbox" or "outbox".
func (c *Client) box(ctx context.Context, id string) (string, error) {
	var found string
	err := inEitherBox(func(box string) error {
		found = box
		// The cheapest question about a message: the first of its files.
		return c.call(ctx, "GET", "/"+box+"/"+seg(id)+"/files", url.Values{"limit": {"1"}}, nil, &List[File]{})
	})
	return found, err
}

// GetMessage returns a message by record ID.
func (c *Client) GetMessage(ctx context.Context, id string) (*Message, error) {
	d, err := c.GetMessageDetail(ctx, id)
	if err != nil {
		return nil, err
	}
	return &d.Message, nil
}

// GetMessageDetail returns a message with its transport headers and,
// when received, whether it was marked read.
func (c *Client) GetMessageDetail(ctx context.Context, id string) (*MessageDetail, error) {
	var d *MessageDetail
	err := inEitherBox(func(box string) (err error) {
		d, err = fetch[MessageDetail](ctx, c, "GET", "/"+box+"/"+seg(id), nil, nil)
		return err
	})
	return d, err
}

// ListMessageFiles returns the files of a message.
func (c *Client) ListMessageFiles(ctx context.Context, id string) ([]File, error) {
	var files []File
	err := inEitherBox(func(box string) (err error) {
		files, err = listAll[File](ctx, c, "/"+box+"/"+seg(id)+"/files")
		return err
	})
	return files, err
}

// OpenMessageFile opens a file of a message by its index (from 0, in the
// order of Message.Files), to be streamed; the caller closes it.
func (c *Client) OpenMessageFile(ctx context.Context, id string, index int) (io.ReadCloser, *File, error) {
	return c.OpenMessageFileRange(ctx, id, index, 0, 0)
}

// OpenMessageFileRange opens length bytes of a file from offset (to its
// end when length is 0 or less): to resume a download. File.Size is the
// size of the whole file.
func (c *Client) OpenMessageFileRange(ctx context.Context, id string, index int, offset, length int64) (io.ReadCloser, *File, error) {
	if offset < 0 {
		return nil, nil, fmt.Errorf("as2gate client: offset %d: want 0 or more", offset)
	}
	box, err := c.box(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	header := http.Header{}
	ranged := offset > 0 || length > 0
	if ranged {
		r := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		if length > 0 {
			r += strconv.FormatInt(offset+length-1, 10)
		}
		header.Set("Range", r)
	}
	resp, err := c.do(ctx, "GET", "/"+box+"/"+seg(id)+"/files/"+strconv.Itoa(index), nil, nil, header)
	if err != nil {
		return nil, nil, err
	}
	f := &File{Index: index, ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength,
		SHA256: strings.Trim(strings.TrimPrefix(resp.Header.Get("ETag"), "W/"), `"`)}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		f.Name = params["filename"] // decoded from filename* too
	}
	var body io.Reader = resp.Body
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, size, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("as2gate client: asked for bytes from %d, got Content-Range %q", offset, resp.Header.Get("Content-Range"))
		}
		f.Size = size
	case ranged:
		// The whole file, from a server that did not take the range:
		// the range is cut from it.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("as2gate client: skipping to byte %d: %w", offset, err)
		}
		if length > 0 {
			body = io.LimitReader(resp.Body, length)
		}
	}
	return readCloser{body, resp.Body}, f, nil
}

// contentRange reads "bytes START-END/SIZE"; SIZE is -1 when "*".
func contentRange(v string) (start, size int64, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	span, total, ok2 := strings.Cut(rest, "/")
	first, _, ok3 := strings.Cut(span, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("malformed Content-Range %q", v)
	}
	if start, err = strconv.ParseInt(first, 10, 64); err != nil {
		return 0, 0, err
	}
	if total == "*" {
		return start, -1, nil
	}
	size, err = strconv.ParseInt(total, 10, 64)
	return start, size, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// MessageMDN returns the MDN of a message as stored: headers, an empty
// line, the body.
func (c *Client) MessageMDN(ctx context.Context, id string) ([]byte, error) {
	box, err := c.box(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.raw(ctx, "/"+box+"/"+seg(id)+"/mdn/raw", nil)
}

// GetMessageMDN returns the MDN of a message, parsed and checked.
func (c *Client) GetMessageMDN(ctx context.Context, id string) (*MDN, error) {
	box, err := c.box(ctx, id)
	if err != nil {
		return nil, err
	}
	return fetch[MDN](ctx, c, "GET", "/"+box+"/"+seg(id)+"/mdn", nil, nil)
}

// MarkRead marks a received message read, or unread.
func (c *Client) MarkRead(ctx context.Context, id string, read bool) error {
	verb := "/unread"
	if read {
		verb = "/read"
	}
	return c.call(ctx, "POST", "/inbox/"+seg(id)+verb, nil, nil, nil)
}

// DeleteMessage removes a message with its files.
func (c *Client) DeleteMessage(ctx context.Context, id string) error {
	box, err := c.box(ctx, id)
	if err != nil {
		return err
	}
	return c.call(ctx, "DELETE", "/"+box+"/"+seg(id), nil, nil, nil)
}

// DeleteMessages removes at most 100 messages of one direction, "in" or
// "out", and tells which were and which were not.
func (c *Client) DeleteMessages(ctx context.Context, direction string, ids []string) (*DeleteResult, error) {
	box := map[string]string{"in": "inbox", "out": "outbox"}[direction]
	if box == "" {
		return nil, fmt.Errorf("as2gate client: direction %q: want in or out", direction)
	}
	return fetch[DeleteResult](ctx, c, "POST", "/"+box+"/delete", nil, DeleteRequest{IDs: ids})
}

// ResendMessage queues a message sent before again, with the same
// Message-ID.
func (c *Client) ResendMessage(ctx context.Context, id string) (*Message, error) {
	return fetch[Message](ctx, c, "POST", "/outbox/"+seg(id)+"/resend", nil, nil)
}

// CancelMessage stops a message still queued.
func (c *Client) CancelMessage(ctx context.Context, id string) (*Message, error) {
	return fetch[Message](ctx, c, "POST", "/outbox/"+seg(id)+"/cancel", nil, nil)
}
