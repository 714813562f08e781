package as2

import (
	"crypto"
	"strings"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

// MDNRequest is what a sender asks for in its headers (RFC 4130 §7.3).
type MDNRequest struct {
	// To is Disposition-Notification-To; empty means no MDN is requested.
	To string
	// AsyncURL is Receipt-Delivery-Option: where to POST an asynchronous
	// MDN. Empty means a synchronous MDN in the HTTP response.
	AsyncURL string
	// Signed: a signed receipt (protocol pkcs7-signature) is requested.
	Signed bool
	// SignedRequired: the importance of the protocol is "required".
	SignedRequired bool
	// MICAlgs are the requested MIC algorithms, in order, spelled as received.
	MICAlgs []string
}

// Requested reports whether an MDN was asked for.
func (r MDNRequest) Requested() bool { return r.To != "" }

// MICAlg picks the first requested algorithm we support, with its
// spelling, to be echoed in the MDN. ok is false when none was requested
// or none is supported.
func (r MDNRequest) MICAlg() (h crypto.Hash, spelling string, ok bool) {
	for _, name := range r.MICAlgs {
		if h, err := cms.ParseDigest(name); err == nil {
			return h, name, true
		}
	}
	return 0, "", false
}

// ParseMDNRequest reads Disposition-Notification-To, -Options and
// Receipt-Delivery-Option. Unknown parameters and malformed options are
// ignored, as RFC 8098 asks of optional parameters.
func ParseMDNRequest(h mime.Header) MDNRequest {
	r := MDNRequest{
		To:       strings.TrimSpace(h.Get("Disposition-Notification-To")),
		AsyncURL: strings.TrimSpace(h.Get("Receipt-Delivery-Option")),
	}
	for _, param := range strings.Split(h.Get("Disposition-Notification-Options"), ";") {
		name, value, ok := strings.Cut(param, "=")
		if !ok {
			continue
		}
		var values []string
		for _, v := range strings.Split(value, ",") {
			if v = strings.Trim(strings.TrimSpace(v), `"`); v != "" {
				values = append(values, v)
			}
		}
		if len(values) < 2 {
			continue
		}
		importance, values := strings.ToLower(values[0]), values[1:]
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "signed-receipt-protocol":
			for _, v := range values {
				if strings.EqualFold(v, "pkcs7-signature") {
					r.Signed = true
					r.SignedRequired = importance == "required"
				}
			}
		case "signed-receipt-micalg":
			r.MICAlgs = values
		}
	}
	return r
}

// Header returns the headers that ask for this MDN.
func (r MDNRequest) header() mime.Header {
	var h mime.Header
	if r.To == "" {
		return h
	}
	h.Add("Disposition-Notification-To", r.To)
	if r.Signed {
		importance := "optional"
		if r.SignedRequired {
			importance = "required"
		}
		algs := r.MICAlgs
		if len(algs) == 0 {
			algs = []string{"sha-256"}
		}
		h.Add("Disposition-Notification-Options", "signed-receipt-protocol="+importance+
			", pkcs7-signature; signed-receipt-micalg="+importance+", "+strings.Join(algs, ", "))
	}
	if r.AsyncURL != "" {
		h.Add("Receipt-Delivery-Option", r.AsyncURL)
	}
	return h
}
