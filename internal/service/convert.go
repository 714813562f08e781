package service

import (
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// The conversions between the domain records and the API's types, all in
// one place.

func toCertificate(c *as2gate.Certificate, now time.Time) client.Certificate {
	expired := now.After(c.NotAfter)
	days := 0
	if !expired {
		days = int(c.NotAfter.Sub(now) / (24 * time.Hour))
	}
	return client.Certificate{
		ID: c.ID, Name: c.Name, Subject: c.Subject, Issuer: c.Issuer, Serial: c.Serial,
		Fingerprint: c.Fingerprint, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Expired: expired, DaysLeft: days, HasPrivateKey: c.HasPrivateKey(), CreatedAt: c.CreatedAt,
	}
}

func toStation(s *as2gate.Station) client.Station {
	return client.Station{
		ID: s.ID, AS2ID: s.AS2ID, Name: s.Name, Description: s.Description, Email: s.Email,
		CertID: s.CertID, NextCertID: s.NextCertID, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

// applyStation sets the fields the input gives.
func applyStation(s *as2gate.Station, in client.StationInput) {
	set(&s.AS2ID, in.AS2ID)
	set(&s.Name, in.Name)
	set(&s.Description, in.Description)
	set(&s.Email, in.Email)
	set(&s.CertID, in.CertID)
	set(&s.NextCertID, in.NextCertID)
}

func toPartner(p *as2gate.Partner) client.Partner {
	var headers []client.Header
	for _, h := range p.Headers {
		headers = append(headers, client.Header{Name: h.Name, Value: h.Value})
	}
	return client.Partner{
		ID: p.ID, AS2ID: p.AS2ID, Name: p.Name, Description: p.Description, URL: p.URL,
		EncryptCertID: p.EncryptCertID, SignCertID: p.SignCertID, NextCertID: p.NextCertID, TLSCertID: p.TLSCertID,
		Sign: p.Sign, SignPSS: p.SignPSS, Encrypt: p.Encrypt, KeyTransport: p.KeyTransport, Compress: p.Compress,
		MDN: p.MDN, MDNSigned: p.MDNSigned, MICAlg: p.MICAlg, Subject: p.Subject, ContentType: p.ContentType,
		TimeoutSeconds: seconds(p.Timeout), Retries: p.Retries, RetryDelaySeconds: seconds(p.RetryDelay),
		MDNTimeoutSeconds: seconds(p.MDNTimeout), Headers: headers, Chunked: p.Chunked, Base64: p.Base64,
		RequireSigned: p.RequireSigned, RequireEncrypted: p.RequireEncrypted,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// applyPartner sets the fields the input gives. "none" is accepted for no
// signature and no encryption, as the CLI's flags say it.
func applyPartner(p *as2gate.Partner, in client.PartnerInput) error {
	set(&p.AS2ID, in.AS2ID)
	set(&p.Name, in.Name)
	set(&p.Description, in.Description)
	set(&p.URL, in.URL)
	set(&p.EncryptCertID, in.EncryptCertID)
	set(&p.SignCertID, in.SignCertID)
	set(&p.NextCertID, in.NextCertID)
	set(&p.TLSCertID, in.TLSCertID)
	set(&p.Sign, in.Sign)
	set(&p.SignPSS, in.SignPSS)
	set(&p.Encrypt, in.Encrypt)
	set(&p.KeyTransport, in.KeyTransport)
	set(&p.Compress, in.Compress)
	set(&p.MDN, in.MDN)
	set(&p.MDNSigned, in.MDNSigned)
	set(&p.MICAlg, in.MICAlg)
	set(&p.Subject, in.Subject)
	set(&p.ContentType, in.ContentType)
	set(&p.Retries, in.Retries)
	set(&p.Chunked, in.Chunked)
	set(&p.Base64, in.Base64)
	set(&p.RequireSigned, in.RequireSigned)
	set(&p.RequireEncrypted, in.RequireEncrypted)
	if p.Sign == "none" {
		p.Sign = ""
	}
	if p.Encrypt == "none" {
		p.Encrypt = ""
	}
	// Zero durations would silently take the defaults (Partner.Defaults):
	// refuse them rather than set something else than asked.
	for _, d := range []struct {
		field string
		in    *int
		out   *time.Duration
	}{
		{"timeout_seconds", in.TimeoutSeconds, &p.Timeout},
		{"retry_delay_seconds", in.RetryDelaySeconds, &p.RetryDelay},
		{"mdn_timeout_seconds", in.MDNTimeoutSeconds, &p.MDNTimeout},
	} {
		if d.in == nil {
			continue
		}
		if *d.in <= 0 || *d.in > 365*24*3600 {
			return as2gate.Invalid(d.field, "%d is not a number of seconds in range", *d.in)
		}
		*d.out = time.Duration(*d.in) * time.Second
	}
	if in.Headers != nil {
		if len(*in.Headers) > maxHeaders {
			return as2gate.Invalid("headers", "at most %d custom headers", maxHeaders)
		}
		p.Headers = nil
		for _, h := range *in.Headers {
			p.Headers = append(p.Headers, as2gate.Header{Name: h.Name, Value: h.Value})
		}
	}
	return nil
}

func toMessage(m *as2gate.Message) client.Message {
	files := make([]client.File, len(m.Files))
	for i, f := range m.Files {
		files[i] = toFile(i, f)
	}
	return client.Message{
		ID: m.ID, Direction: string(m.Direction), StationID: m.StationID, PartnerID: m.PartnerID,
		StationAS2ID: m.StationAS2ID, PartnerAS2ID: m.PartnerAS2ID, MessageID: m.MessageID, Subject: m.Subject,
		Status: string(m.Status), Reason: m.Reason, Attempts: m.Attempts,
		Signed: m.Signed, Encrypted: m.Encrypted, Compressed: m.Compressed, Algorithms: m.Algorithms, MIC: m.MIC,
		MDNMode: m.MDNMode, MDNMessageID: m.MDNMessageID, MDNDisposition: m.MDNDisposition, MDNStatus: m.MDNStatus,
		MICMatched: m.MICMatched, Size: m.Size, Files: files,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, CompletedAt: m.CompletedAt,
	}
}

func toFile(index int, f as2gate.File) client.File {
	return client.File{Index: index, Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
}

func seconds(d time.Duration) int { return int(d / time.Second) }

// set applies an optional input field.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
