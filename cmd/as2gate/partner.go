package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/as2gate/as2gate/client"
)

func runPartner(args []string, stdout, stderr io.Writer) error {
	return runGroup("partner", []subcommand{
		{"create", "add a trading partner", partnerCreate},
		{"list", "list the partners", partnerList},
		{"show", "show a partner", partnerShow},
		{"update", "change a partner; roll its certificate over", partnerUpdate},
		{"delete", "delete a partner", partnerDelete},
	}, args, stdout, stderr)
}

// partnerFlags are the fields of a partner set by flags. Their defaults
// are the service's, applied to a new partner for what is not given; an
// update changes only what is given.
type partnerFlags struct {
	as2ID, name, description, url              string
	cert, signCert, tlsCert, nextCert          string
	sign, encrypt, oaep, compress, mdn, micAlg string
	subject, contentType                       string
	pss, mdnSigned, chunked, base64            bool
	requireSigned, requireEncrypted            bool
	timeout, retryDelay, mdnTimeout            time.Duration
	retries                                    int
	headers                                    stringList
}

func addPartnerFlags(m *mgmt) *partnerFlags {
	f := &partnerFlags{}
	fs := m.fs
	fs.StringVar(&f.as2ID, "as2-id", "", "the partner's AS2 `ID`")
	fs.StringVar(&f.name, "name", "", "`name` for people (default: the AS2 ID)")
	fs.StringVar(&f.description, "description", "", "`text` describing the partner")
	fs.StringVar(&f.url, "url", "", "the partner's AS2 `URL` (http or https)")
	fs.StringVar(&f.cert, "cert", "", "the partner's certificate `file`, to encrypt to and check its signatures with")
	fs.StringVar(&f.signCert, "sign-cert", "", "certificate `file` of the partner's signatures, when not --cert")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "certificate or CA `file` trusted for the partner's HTTPS URL besides the system's")
	fs.StringVar(&f.nextCert, "next-cert", "", "the partner's next certificate `file`, also accepted during a rollover (\"\" ends it)")
	fs.StringVar(&f.sign, "sign", "", "`digest` to sign with: sha256 (default for a new partner), sha384, sha512, sha1, or none")
	fs.BoolVar(&f.pss, "pss", false, "sign with RSASSA-PSS instead of PKCS#1 v1.5")
	fs.StringVar(&f.encrypt, "encrypt", "", "`cipher` to encrypt with: aes256-cbc (default for a new partner), aes128-cbc, aes192-cbc,\n"+
		"aes128-gcm, aes256-gcm, 3des, or none")
	fs.StringVar(&f.oaep, "oaep", "", "encrypt the key with RSAES-OAEP and this `digest`: sha1, sha256 or sha512 (none: PKCS#1 v1.5, the default)")
	fs.StringVar(&f.compress, "compress", "", "`when` to compress the payload: none (default for a new partner), before or after signing")
	fs.StringVar(&f.mdn, "mdn", "", "`receipt` to ask for: none, sync (default for a new partner) or async")
	fs.BoolVar(&f.mdnSigned, "mdn-signed", false, "ask for a signed MDN (default true for a new partner: --mdn-signed=false for unsigned)")
	fs.StringVar(&f.micAlg, "mic-alg", "", "MIC `algorithm` asked for in signed MDNs (default: the signing digest, e.g. sha-256)")
	fs.StringVar(&f.subject, "subject", "", "default `subject` of messages (default \"AS2 message\")")
	fs.StringVar(&f.contentType, "content-type", "", "default content `type` of payloads (default: from each file)")
	fs.DurationVar(&f.timeout, "timeout", 0, "`time` to connect and to wait for the response (default 2m0s)")
	fs.IntVar(&f.retries, "retries", 0, "`times` a failed send is retried (default 5 for a new partner)")
	fs.DurationVar(&f.retryDelay, "retry-delay", 0, "first `delay` between retries, doubled each time (default 30s)")
	fs.DurationVar(&f.mdnTimeout, "mdn-timeout", 0, "`time` an asynchronous MDN is awaited (default 6h0m0s)")
	fs.Var(&f.headers, "header", "custom HTTP header `Name=Value` sent to the partner (repeatable; replaces all on update)")
	fs.BoolVar(&f.chunked, "chunked", false, "send with Transfer-Encoding: chunked instead of Content-Length")
	fs.BoolVar(&f.base64, "base64", false, "send base64 bodies, for partners that mangle binary")
	fs.BoolVar(&f.requireSigned, "require-signed", false, "refuse the partner's unsigned messages")
	fs.BoolVar(&f.requireEncrypted, "require-encrypted", false, "refuse the partner's unencrypted messages")
	return f
}

// input turns the flags given into a partner input, importing the
// certificate files given (or finding them stored). It returns the
// certificates imported, to be removed again if the partner is refused.
func (f *partnerFlags) input(ctx context.Context, m *mgmt, b backend) (client.PartnerInput, []*client.Certificate, error) {
	in := client.PartnerInput{
		AS2ID: optional(m, "as2-id", f.as2ID), Name: optional(m, "name", f.name),
		Description: optional(m, "description", f.description), URL: optional(m, "url", f.url),
		Sign: optional(m, "sign", f.sign), SignPSS: optional(m, "pss", f.pss),
		Encrypt: optional(m, "encrypt", f.encrypt), Compress: optional(m, "compress", f.compress),
		MDN: optional(m, "mdn", f.mdn), MDNSigned: optional(m, "mdn-signed", f.mdnSigned),
		MICAlg: optional(m, "mic-alg", f.micAlg), Subject: optional(m, "subject", f.subject),
		ContentType: optional(m, "content-type", f.contentType), Retries: optional(m, "retries", f.retries),
		Chunked: optional(m, "chunked", f.chunked), Base64: optional(m, "base64", f.base64),
		RequireSigned:    optional(m, "require-signed", f.requireSigned),
		RequireEncrypted: optional(m, "require-encrypted", f.requireEncrypted),
	}
	if m.given["oaep"] {
		kt := ""
		if f.oaep != "none" && f.oaep != "" {
			kt = "oaep-" + f.oaep
		}
		in.KeyTransport = &kt
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		dst  **int
	}{{"timeout", f.timeout, &in.TimeoutSeconds}, {"retry-delay", f.retryDelay, &in.RetryDelaySeconds}, {"mdn-timeout", f.mdnTimeout, &in.MDNTimeoutSeconds}} {
		if m.given[d.flag] {
			if d.v%time.Second != 0 {
				return in, nil, &exitError{status: 2, err: fmt.Errorf("--%s %v: whole seconds only", d.flag, d.v)}
			}
			*d.dst = optional(m, d.flag, int(d.v/time.Second))
		}
	}
	if m.given["header"] {
		headers := []client.Header{}
		for _, h := range f.headers {
			name, value, ok := strings.Cut(h, "=")
			if !ok {
				return in, nil, &exitError{status: 2, err: fmt.Errorf("--header %q: want Name=Value", h)}
			}
			headers = append(headers, client.Header{Name: strings.TrimSpace(name), Value: value})
		}
		in.Headers = &headers
	}
	var imported []*client.Certificate
	for _, c := range []struct {
		flag, path string
		dst        **string
	}{{"cert", f.cert, &in.EncryptCertID}, {"sign-cert", f.signCert, &in.SignCertID}, {"tls-cert", f.tlsCert, &in.TLSCertID}, {"next-cert", f.nextCert, &in.NextCertID}} {
		if !m.given[c.flag] {
			continue
		}
		id := "" // an empty file name clears the certificate
		if c.path != "" {
			cert, created, err := importCertFile(ctx, b, c.path)
			if err != nil {
				discardAll(ctx, b, imported)
				return in, nil, fmt.Errorf("--%s: %w", c.flag, err)
			}
			if created {
				imported = append(imported, cert)
			}
			id = cert.ID
		}
		*c.dst = &id
	}
	return in, imported, nil
}

func discardAll(ctx context.Context, b backend, certs []*client.Certificate) {
	for _, c := range certs {
		discard(ctx, b, c, true)
	}
}

func partnerCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("partner create", "", "Adds a trading partner. Certificates given as files are imported, or the stored\n"+
		"one with the same fingerprint is used.", true, stdout, stderr)
	pf := addPartnerFlags(m)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	if err := m.require("as2-id", "url"); err != nil {
		return err
	}
	return savePartner(ctx, m, pf, func(b backend, in client.PartnerInput) (*client.Partner, error) {
		return b.CreatePartner(ctx, in)
	})
}

func partnerUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("partner update", "ID", "Changes the fields of a partner that flags give. A certificate rollover: --next-cert\n"+
		"FILE accepts the new certificate beside the current one; later --cert FILE --next-cert \"\" ends it.", true, stdout, stderr)
	pf := addPartnerFlags(m)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	if !m.changing() {
		return &exitError{status: 2, err: fmt.Errorf("nothing to change: give the flags of what changes (see --help)")}
	}
	return savePartner(ctx, m, pf, func(b backend, in client.PartnerInput) (*client.Partner, error) {
		p, err := b.GetPartner(ctx, pos[0])
		if err != nil {
			return nil, err
		}
		return b.UpdatePartner(ctx, p.ID, in)
	})
}

// savePartner opens the backend, builds the input and saves it with save.
func savePartner(ctx context.Context, m *mgmt, pf *partnerFlags, save func(backend, client.PartnerInput) (*client.Partner, error)) error {
	return oneCall(ctx, m, func(b backend) (*client.Partner, error) {
		in, imported, err := pf.input(ctx, m, b)
		if err != nil {
			return nil, err
		}
		p, err := save(b, in)
		if err != nil {
			discardAll(ctx, b, imported)
		}
		return p, err
	}, printWith(m, printPartner))
}

func partnerList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("partner list", "", "Lists the partners.", true, stdout, stderr)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]client.Partner, error) { return b.ListPartners(ctx) },
		printWith(m, func(w io.Writer, list []client.Partner) {
			row(w, "ID", "AS2 ID", "NAME", "URL", "SECURITY", "MDN")
			for _, p := range list {
				row(w, p.ID, p.AS2ID, p.Name, p.URL, security(&p), mdnMode(&p))
			}
		}))
}

// security sums up how messages to a partner are protected.
func security(p *client.Partner) string {
	sign, encrypt := orNone(p.Sign), orNone(p.Encrypt)
	if p.SignPSS && p.Sign != "" {
		sign += "-pss"
	}
	s := "sign " + sign + ", encrypt " + encrypt
	if p.Compress != "none" {
		s += ", compress " + p.Compress
	}
	return s
}

func mdnMode(p *client.Partner) string {
	if p.MDN != "none" && p.MDNSigned {
		return p.MDN + ", signed"
	}
	return p.MDN
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func partnerShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("partner show", "ID", "Shows a partner, given its AS2 ID or record ID.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Partner, error) { return b.GetPartner(ctx, pos[0]) }, printWith(m, printPartner))
}

func printPartner(w io.Writer, p *client.Partner) {
	row(w, "ID:", p.ID)
	row(w, "AS2 ID:", p.AS2ID)
	row(w, "Name:", p.Name)
	row(w, "Description:", orDash(p.Description))
	row(w, "URL:", p.URL)
	row(w, "Certificate:", orDash(p.EncryptCertID))
	row(w, "Signature certificate:", orDash(p.SignCertID))
	row(w, "Next certificate:", orDash(p.NextCertID))
	row(w, "TLS certificate:", orDash(p.TLSCertID))
	row(w, "Security:", security(p))
	row(w, "Key transport:", orDash(p.KeyTransport))
	row(w, "MDN:", mdnMode(p)+", MIC "+p.MICAlg)
	row(w, "Subject:", p.Subject)
	row(w, "Content type:", orDash(p.ContentType))
	row(w, "Timeout:", (time.Duration(p.TimeoutSeconds) * time.Second).String())
	row(w, "Retries:", strconv.Itoa(p.Retries)+", first after "+(time.Duration(p.RetryDelaySeconds)*time.Second).String())
	row(w, "MDN timeout:", (time.Duration(p.MDNTimeoutSeconds) * time.Second).String())
	for _, h := range p.Headers {
		row(w, "Header:", h.Name+": "+h.Value)
	}
	row(w, "Chunked:", yesNo(p.Chunked))
	row(w, "Base64:", yesNo(p.Base64))
	row(w, "Requires signed:", yesNo(p.RequireSigned))
	row(w, "Requires encrypted:", yesNo(p.RequireEncrypted))
	row(w, "Created:", date(p.CreatedAt))
	row(w, "Updated:", date(p.UpdatedAt))
}

func partnerDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("partner delete", "ID", "Deletes a partner without messages in progress. Its certificates stay (see cert delete).", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Partner, error) {
		p, err := b.GetPartner(ctx, pos[0])
		if err != nil {
			return nil, err
		}
		return p, b.DeletePartner(ctx, p.ID)
	}, printWith(m, func(w io.Writer, p *client.Partner) { row(w, "deleted partner", p.AS2ID, p.ID) }))
}
