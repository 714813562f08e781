package main

import (
	"crypto"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/as2gate/as2gate/internal/pki"
)

// newFlagSet makes a flag set whose usage names the command and its arguments.
func newFlagSet(name, args, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: as2gate %s [flags] %s\n\n%s\n\nflags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags placed anywhere among the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errHelp
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// keyPairFlags are --key, --cert and --password of the commands that use
// our key pair from files.
type keyPairFlags struct{ key, cert, password *string }

// addKeyPairFlags defines them; use says what the key is for.
func addKeyPairFlags(fs *flag.FlagSet, use string) keyPairFlags {
	return keyPairFlags{
		key:      fs.String("key", "", "our private key (PEM, DER or PKCS#12), to "+use),
		cert:     fs.String("cert", "", "our certificate, when not in the key file"),
		password: fs.String("password", "", "password of the key file (or AS2GATE_KEY_PASSWORD)"),
	}
}

// load reads the key pair; nothing (and no error) without --key.
func (f keyPairFlags) load() (crypto.Signer, *x509.Certificate, error) {
	return loadKeyPair(*f.key, *f.cert, keyPassword(*f.password))
}

// loadKeyPair reads our key and certificate: both may be in one file (PEM
// or PKCS#12) given as keyPath, or in two files.
func loadKeyPair(keyPath, certPath, password string) (crypto.Signer, *x509.Certificate, error) {
	if keyPath == "" {
		return nil, nil, nil
	}
	kb, err := pki.ParseFile(keyPath, password)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key %s: %w", keyPath, err)
	}
	if kb.Key == nil {
		return nil, nil, fmt.Errorf("%s holds no private key", keyPath)
	}
	certs := kb.Certs
	if certPath != "" {
		cb, err := pki.ParseFile(certPath, password)
		if err != nil {
			return nil, nil, fmt.Errorf("reading certificate %s: %w", certPath, err)
		}
		certs = cb.Certs
	}
	for _, c := range certs {
		if pki.KeyMatchesCert(kb.Key, c) {
			return kb.Key, c, nil
		}
	}
	return nil, nil, fmt.Errorf("no certificate for the key in %s (give --cert)", keyPath)
}

// loadCerts reads certificates from files.
func loadCerts(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		b, err := pki.ParseFile(p, "")
		if err != nil {
			return nil, fmt.Errorf("reading certificate %s: %w", p, err)
		}
		if len(b.Certs) == 0 {
			return nil, fmt.Errorf("%s holds no certificate", p)
		}
		out = append(out, b.Certs...)
	}
	return out, nil
}
