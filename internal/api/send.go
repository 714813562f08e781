package api

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// maxField bounds a text field of a multipart send.
const maxField = 4 << 10

// send queues a message. Its files are streamed from the request into the
// blob store as they arrive, one after the other: nothing is held in
// memory or spooled twice, whatever their size.
func (a *API) send(w http.ResponseWriter, r *http.Request) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var m *client.Message
	var err error
	if mt == "multipart/form-data" {
		m, err = a.sendMultipart(r)
	} else {
		m, err = a.sendRaw(r)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/outbox/"+m.ID)
	writeJSON(w, http.StatusAccepted, client.SendAccepted{ID: m.ID, MessageID: m.MessageID, Status: m.Status})
	return nil
}

// sendRaw sends the request body as one file, described by headers.
func (a *API) sendRaw(r *http.Request) (*client.Message, error) {
	req := client.SendRequest{Station: r.Header.Get("X-AS2-Station"), Partner: r.Header.Get("X-AS2-Partner"), Subject: r.Header.Get("Subject")}
	switch {
	case req.Station == "":
		return nil, as2gate.Invalid("X-AS2-Station", "required: the station to send from (or send multipart/form-data)")
	case req.Partner == "":
		return nil, as2gate.Invalid("X-AS2-Partner", "required: the partner to send to")
	}
	name := r.Header.Get("X-Filename")
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		name = params["filename"]
	}
	file := client.SendFile{Name: name, ContentType: r.Header.Get("Content-Type"), Content: uploadReader{r.Body}}
	return a.svc.SendStream(r.Context(), req, func(yield func(client.SendFile, error) bool) { yield(file, nil) })
}

// sendMultipart reads the text fields, which come first, then streams the
// file parts one by one to the service.
func (a *API) sendMultipart(r *http.Request) (*client.Message, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, as2gate.Invalid("body", "not a multipart/form-data body: %v", err)
	}
	var req client.SendRequest
	var contentType string
	fields := map[string]*string{"station": &req.Station, "partner": &req.Partner, "subject": &req.Subject, "content_type": &contentType}
	seen := map[string]bool{}
	var part *multipart.Part
	for {
		part, err = mr.NextPart()
		if err == io.EOF {
			part = nil
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := part.FormName()
		if name == "file" {
			break
		}
		dst, ok := fields[name]
		if !ok {
			return nil, as2gate.Invalid(name, "unknown field: want station, partner, subject, content_type, then the files in fields named file")
		}
		if seen[name] {
			return nil, as2gate.Invalid(name, "given more than once")
		}
		seen[name] = true
		b, err := io.ReadAll(io.LimitReader(uploadReader{part}, maxField+1))
		if err != nil {
			return nil, err
		}
		if len(b) > maxField {
			return nil, as2gate.Invalid(name, "longer than %d bytes", maxField)
		}
		*dst = string(b)
	}
	switch {
	case req.Station == "":
		return nil, as2gate.Invalid("station", "required, before the files")
	case req.Partner == "":
		return nil, as2gate.Invalid("partner", "required, before the files")
	}
	var files iter.Seq2[client.SendFile, error]
	if part != nil {
		files = func(yield func(client.SendFile, error) bool) {
			for part != nil {
				if part.FormName() != "file" {
					yield(client.SendFile{}, as2gate.Invalid(part.FormName(), "text fields come before the files"))
					return
				}
				if !yield(client.SendFile{Name: partFilename(part), ContentType: partContentType(part, contentType), Content: uploadReader{part}}, nil) {
					return
				}
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					yield(client.SendFile{}, multipartError(err))
					return
				}
				part = p
			}
		}
	}
	return a.svc.SendStream(r.Context(), req, files)
}

// partFilename is the file name as the client gave it; the gateway makes
// it safe (multipart's FileName would drop what precedes a slash itself,
// but not a backslash).
func partFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// partContentType is the content type of a file: the form's content_type,
// else the part's own unless it is the generic one that clients give any
// file they know nothing of, else "" for the gateway to detect it.
func partContentType(p *multipart.Part, form string) string {
	if form != "" {
		return form
	}
	ct := p.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt == "application/octet-stream" {
		return ""
	}
	return ct
}

func multipartError(err error) error {
	if _, ok := errors.AsType[*as2gate.Error](err); ok {
		return err
	}
	return as2gate.Invalid("body", "malformed multipart/form-data: %v", err)
}

// uploadReader reports a broken upload as the client's fault (400), not
// as a failure of the server.
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return n, err
		}
		return n, as2gate.Wrap(as2gate.EInvalid, err, "%s", fmt.Sprintf("reading the upload: %v", strings.TrimPrefix(err.Error(), "multipart: ")))
	}
	return n, err
}
