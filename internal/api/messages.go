package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/mime"
)

// The inbox and the outbox: the same routes on messages of one direction.
// A message of the other direction is not found there.

// boxMessage returns the message of the path if it is in the route's box.
func (a *API) boxMessage(r *http.Request) (*client.Message, error) {
	id := r.PathValue("id")
	notFound := as2gate.Errorf(as2gate.ENotFound, "message %s not found", id)
	if !as2gate.IsID(id) {
		return nil, notFound
	}
	m, err := a.svc.GetMessage(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if m.Direction != boxDirection(r) {
		return nil, notFound
	}
	return m, nil
}

func (a *API) listBox(w http.ResponseWriter, r *http.Request) error {
	return a.listDirection(w, r, boxDirection(r))
}

// listMessages lists both boxes, or the one the direction parameter names.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) error {
	return a.listDirection(w, r, r.URL.Query().Get("direction"))
}

func (a *API) listDirection(w http.ResponseWriter, r *http.Request, direction string) error {
	query := r.URL.Query()
	f := client.MessageFilter{Direction: direction, Station: query.Get("station"), Partner: query.Get("partner"),
		Subject: query.Get("subject"), MessageID: query.Get("message_id"), Cursor: query.Get("cursor")}
	var err error
	if f.Since, f.Until, f.Limit, err = listWindow(r); err != nil {
		return err
	}
	if f.Read, err = queryBool(r, "read"); err != nil {
		return err
	}
	for _, s := range query["status"] {
		f.Status = append(f.Status, strings.Split(s, ",")...)
	}
	return answer(w, http.StatusOK)(a.svc.ListMessages(r.Context(), f))
}

func (a *API) getBoxMessage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.GetMessageDetail(r.Context(), r.PathValue("id")))
}

func (a *API) listFiles(w http.ResponseWriter, r *http.Request) error {
	m, err := a.boxMessage(r)
	if err != nil {
		return err
	}
	return writePage(w, r, m.Files, func(f client.File) string { return fmt.Sprintf("%08d", f.Index) })
}

// downloadFile streams a file. Files on disk are served with Range and
// conditional requests; the content type is the partner's, so the answer
// is an attachment that browsers neither sniff nor run.
func (a *API) downloadFile(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		return as2gate.Errorf(as2gate.ENotFound, "no file %q: files are numbered from 0", r.PathValue("index"))
	}
	rc, f, err := a.svc.OpenMessageFile(r.Context(), r.PathValue("id"), index)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	disposition := "attachment"
	if p := mime.FormatFilenameParam(f.Name); p != "" {
		disposition += "; " + p
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if f.SHA256 != "" {
		h.Set("ETag", `"`+f.SHA256+`"`) // makes If-Range work for resumed downloads
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", time.Time{}, rs)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	io.Copy(w, rc) // a failure here is the client gone, or a disk error past the headers
	return nil
}

func (a *API) getMDN(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.GetMessageMDN(r.Context(), r.PathValue("id")))
}

func (a *API) rawMDN(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	raw, err := a.svc.MessageMDN(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(raw)
	return nil
}

func (a *API) markRead(w http.ResponseWriter, r *http.Request) error   { return a.setRead(w, r, true) }
func (a *API) markUnread(w http.ResponseWriter, r *http.Request) error { return a.setRead(w, r, false) }

func (a *API) setRead(w http.ResponseWriter, r *http.Request, read bool) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return noContent(w, a.svc.SetMessageRead(r.Context(), r.PathValue("id"), read))
}

func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return noContent(w, a.svc.DeleteMessage(r.Context(), r.PathValue("id")))
}

func (a *API) deleteMessages(w http.ResponseWriter, r *http.Request) error {
	var req client.DeleteRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.DeleteMessages(r.Context(), boxDirection(r), req.IDs))
}

func (a *API) resend(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.ResendMessage(r.Context(), r.PathValue("id")))
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.boxMessage(r); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.CancelMessage(r.Context(), r.PathValue("id")))
}
