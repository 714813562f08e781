package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
)

func runCert(args []string, stdout, stderr io.Writer) error {
	return runGroup("cert", []subcommand{
		{"list", "list certificates with their expiry", certList},
		{"show", "show a certificate", certShow},
		{"import", "import a certificate (PEM, DER, PKCS#12), with its private key if the file holds one", certImport},
		{"generate", "generate a self-signed key pair for a station", certGenerate},
		{"export", "print a certificate as PEM (never its private key)", certExport},
		{"delete", "delete a certificate that no station or partner uses", certDelete},
	}, args, stdout, stderr)
}

func certList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert list", "", "Lists the certificates, with their expiry; expired ones are marked.", true, stdout, stderr)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]client.Certificate, error) { return b.ListCertificates(ctx) },
		printWith(m, func(w io.Writer, list []client.Certificate) {
			row(w, "ID", "NAME", "SUBJECT", "EXPIRES", "DAYS LEFT", "PRIVATE KEY")
			for _, c := range list {
				row(w, c.ID, c.Name, c.Subject, c.NotAfter.Format("2006-01-02"), daysLeft(&c), yesNo(c.HasPrivateKey))
			}
		}))
}

func daysLeft(c *client.Certificate) string {
	if c.Expired {
		return "EXPIRED"
	}
	return strconv.Itoa(c.DaysLeft)
}

func certShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert show", "ID", "Shows a certificate.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Certificate, error) { return b.GetCertificate(ctx, pos[0]) },
		printWith(m, printCertificate))
}

func printCertificate(w io.Writer, c *client.Certificate) {
	row(w, "ID:", c.ID)
	row(w, "Name:", c.Name)
	row(w, "Subject:", c.Subject)
	row(w, "Issuer:", c.Issuer)
	row(w, "Serial:", c.Serial)
	row(w, "SHA-256 fingerprint:", c.Fingerprint)
	row(w, "Valid from:", date(c.NotBefore))
	row(w, "Valid until:", date(c.NotAfter)+" ("+expiry(c)+")")
	row(w, "Private key:", yesNo(c.HasPrivateKey))
	row(w, "Created:", date(c.CreatedAt))
}

func expiry(c *client.Certificate) string {
	if c.Expired {
		return "EXPIRED"
	}
	return fmt.Sprintf("%d days left", c.DaysLeft)
}

func certImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert import", "FILE", "Imports a certificate from a PEM, DER or PKCS#12 file, with its private key when\n"+
		"the file holds one (a station's key pair). The key is stored encrypted and never shown.", true, stdout, stderr)
	name := m.fs.String("name", "", "`name` to recognise it by (default: its common name)")
	password := m.fs.String("password", "", "`password` of the file (default $AS2GATE_KEY_PASSWORD)")
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	data, err := readBounded(pos[0], pki.MaxInputSize)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Certificate, error) {
		c, err := b.ImportCertificate(ctx, client.CertificateImport{Name: *name, Data: data, Password: keyPassword(*password)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pos[0], err)
		}
		return c, nil
	}, printWith(m, printCertificate))
}

// readBounded reads a small file whole, refusing one over max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over %d bytes: not a certificate file", path, max)
	}
	return data, nil
}

func certGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert generate", "", "Generates a self-signed RSA key pair for a station (see station update --next-cert-id).", true, stdout, stderr)
	name := m.fs.String("name", "", "`name` to recognise it by (default: the common name)")
	gen := addGenerateFlags(m.fs)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	if err := m.require("common-name"); err != nil {
		return err
	}
	in := gen.input("")
	in.Name = *name
	return oneCall(ctx, m, func(b backend) (*client.Certificate, error) { return b.GenerateCertificate(ctx, in) },
		printWith(m, printCertificate))
}

func certExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert export", "ID", "Prints a certificate as PEM, and nothing else (never a private key).", false, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]byte, error) { return b.CertificatePEM(ctx, pos[0]) }, m.writeRaw)
}

func certDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("cert delete", "ID", "Deletes a certificate that no station or partner uses.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Certificate, error) {
		c, err := b.GetCertificate(ctx, pos[0])
		if err != nil {
			return nil, err
		}
		return c, b.DeleteCertificate(ctx, c.ID)
	}, printWith(m, func(w io.Writer, c *client.Certificate) { row(w, "deleted certificate", c.ID, c.Name) }))
}

// generateFlags describe a key pair to generate.
type generateFlags struct {
	commonName, org, orgUnit, locality, province, country string
	keyBits, validYears                                   int
}

func addGenerateFlags(fs *flag.FlagSet) *generateFlags {
	g := &generateFlags{}
	fs.StringVar(&g.commonName, "common-name", "", "common `name` (CN) of the generated certificate")
	fs.StringVar(&g.org, "org", "", "`organization` (O) of the generated certificate")
	fs.StringVar(&g.orgUnit, "org-unit", "", "organizational `unit` (OU) of the generated certificate")
	fs.StringVar(&g.locality, "locality", "", "`city` (L) of the generated certificate")
	fs.StringVar(&g.province, "province", "", "`state` or province (ST) of the generated certificate")
	fs.StringVar(&g.country, "country", "", "two-letter country `code` (C) of the generated certificate")
	fs.IntVar(&g.keyBits, "key-bits", 2048, "RSA key size of the generated key pair: 2048, 3072 or 4096")
	fs.IntVar(&g.validYears, "valid-years", 3, "validity of the generated certificate, in `years` (1 to 30)")
	return g
}

// input describes the key pair; its common name defaults to defaultCN.
func (g *generateFlags) input(defaultCN string) client.CertificateGenerate {
	cn := g.commonName
	if cn == "" {
		cn = defaultCN
	}
	return client.CertificateGenerate{CommonName: cn, Organization: g.org, OrganizationalUnit: g.orgUnit,
		Locality: g.locality, Province: g.province, Country: g.country, KeyBits: g.keyBits, ValidYears: g.validYears}
}

// importKeyPair stores our key pair read from files (see loadKeyPair), or
// finds it stored already.
func importKeyPair(ctx context.Context, b backend, keyPath, certPath, password string) (*client.Certificate, bool, error) {
	key, cert, err := loadKeyPair(keyPath, certPath, password)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, false, err
	}
	return addCertificate(ctx, b, cert, client.CertificateImport{Data: append(keyPEM, pki.EncodeCertPEM(cert)...)}, true)
}

// importCertFile stores a partner's certificate read from a file, or finds
// it stored already.
func importCertFile(ctx context.Context, b backend, path string) (*client.Certificate, bool, error) {
	certs, err := loadCerts([]string{path})
	if err != nil {
		return nil, false, err
	}
	return addCertificate(ctx, b, certs[0], client.CertificateImport{Data: pki.EncodeCertPEM(certs[0])}, false)
}

// addCertificate imports a certificate unless one with its fingerprint is
// stored already (the store keeps each once, and one certificate may serve
// several stations and partners): then that one is returned. created says
// whether it is new, to be removed again if what it was for fails.
func addCertificate(ctx context.Context, b backend, cert *x509.Certificate, in client.CertificateImport, needKey bool) (*client.Certificate, bool, error) {
	sum := sha256.Sum256(cert.Raw)
	fingerprint := hex.EncodeToString(sum[:])
	list, err := b.ListCertificates(ctx)
	if err != nil {
		return nil, false, err
	}
	for _, c := range list {
		if !strings.EqualFold(c.Fingerprint, fingerprint) {
			continue
		}
		if needKey && !c.HasPrivateKey {
			return nil, false, fmt.Errorf("certificate %s (%q) is stored without its private key: delete it first (as2gate cert delete %s)", c.ID, c.Name, c.ID)
		}
		return &c, false, nil
	}
	c, err := b.ImportCertificate(ctx, in)
	return c, err == nil, err
}

// discard removes a certificate made for something that then failed.
func discard(ctx context.Context, b backend, c *client.Certificate, created bool) {
	if created {
		b.DeleteCertificate(context.WithoutCancel(ctx), c.ID)
	}
}
