package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/as2gate/as2gate/client"
)

func runStation(args []string, stdout, stderr io.Writer) error {
	return runGroup("station", []subcommand{
		{"create", "create a station, with a new key pair unless --key is given", stationCreate},
		{"list", "list the stations", stationList},
		{"show", "show a station", stationShow},
		{"update", "change a station; roll its key pair over", stationUpdate},
		{"delete", "delete a station", stationDelete},
		{"cert", "print a station's public certificate as PEM, for partners", stationCert},
	}, args, stdout, stderr)
}

// stationFlags are the fields of a station set by flags.
type stationFlags struct {
	as2ID, name, description, email string
}

func addStationFlags(m *mgmt) *stationFlags {
	f := &stationFlags{}
	m.fs.StringVar(&f.as2ID, "as2-id", "", "the station's AS2 `ID`, as partners address it")
	m.fs.StringVar(&f.name, "name", "", "`name` for people (default: the AS2 ID)")
	m.fs.StringVar(&f.description, "description", "", "`text` describing the station")
	m.fs.StringVar(&f.email, "email", "", "notification `addresses`, comma-separated")
	return f
}

func (f *stationFlags) input(m *mgmt) client.StationInput {
	return client.StationInput{AS2ID: optional(m, "as2-id", f.as2ID), Name: optional(m, "name", f.name),
		Description: optional(m, "description", f.description), Email: optional(m, "email", f.email)}
}

func stationCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station create", "", "Creates a station: one of our AS2 identities. Its key pair is imported with --key\n"+
		"(and --cert when the key file holds no certificate), or else generated.", true, stdout, stderr)
	sf := addStationFlags(m)
	key := m.fs.String("key", "", "private key `file` to import (PEM, DER or PKCS#12) instead of generating one")
	cert := m.fs.String("cert", "", "certificate `file` of --key, when the key file holds none")
	password := m.fs.String("password", "", "`password` of the key file (default $AS2GATE_KEY_PASSWORD)")
	gen := addGenerateFlags(m.fs)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	if err := m.require("as2-id"); err != nil {
		return err
	}
	if *cert != "" && *key == "" {
		return &exitError{status: 2, err: fmt.Errorf("--cert goes with --key")}
	}
	return oneCall(ctx, m, func(b backend) (*client.Station, error) {
		in := sf.input(m)
		if *key == "" {
			g := gen.input("")
			in.Generate = &g
			return b.CreateStation(ctx, in)
		}
		imported, created, err := importKeyPair(ctx, b, *key, *cert, keyPassword(*password))
		if err != nil {
			return nil, err
		}
		in.CertID = &imported.ID
		st, err := b.CreateStation(ctx, in)
		if err != nil {
			discard(ctx, b, imported, created)
		}
		return st, err
	}, showStation(ctx, m))
}

func stationList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station list", "", "Lists the stations.", true, stdout, stderr)
	if _, err := m.parse(args, 0); err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]client.Station, error) { return b.ListStations(ctx) },
		func(b backend, list []client.Station) error {
			if m.json {
				return m.print(list, nil)
			}
			certs, err := certificatesByID(ctx, b)
			if err != nil {
				return err
			}
			return m.print(list, func(w *tabwriter.Writer) {
				row(w, "ID", "AS2 ID", "NAME", "CERTIFICATE EXPIRES", "ROLLOVER")
				for _, st := range list {
					row(w, st.ID, st.AS2ID, st.Name, certExpiry(certs[st.CertID]), yesNo(st.NextCertID != ""))
				}
			})
		})
}

func certificatesByID(ctx context.Context, b backend) (map[string]*client.Certificate, error) {
	list, err := b.ListCertificates(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*client.Certificate{}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	return byID, nil
}

// certExpiry is when a certificate expires, for tables.
func certExpiry(c *client.Certificate) string {
	if c == nil {
		return "-"
	}
	return c.NotAfter.Format("2006-01-02") + " (" + expiry(c) + ")"
}

func stationShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station show", "ID", "Shows a station, given its AS2 ID or record ID.", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Station, error) { return b.GetStation(ctx, pos[0]) }, showStation(ctx, m))
}

// showStation shows a station with printStation.
func showStation(ctx context.Context, m *mgmt) func(backend, *client.Station) error {
	return func(b backend, st *client.Station) error { return printStation(ctx, m, b, st) }
}

// printStation shows a station with its certificates' names and expiry.
func printStation(ctx context.Context, m *mgmt, b backend, st *client.Station) error {
	if m.json {
		return m.print(st, nil)
	}
	certs, err := certificatesByID(ctx, b)
	if err != nil {
		return err
	}
	describe := func(id string) string {
		c := certs[id]
		if c == nil {
			return orDash(id)
		}
		return fmt.Sprintf("%s %q, expires %s", c.ID, c.Name, certExpiry(c))
	}
	return m.print(st, func(w *tabwriter.Writer) {
		row(w, "ID:", st.ID)
		row(w, "AS2 ID:", st.AS2ID)
		row(w, "Name:", st.Name)
		row(w, "Description:", orDash(st.Description))
		row(w, "Email:", orDash(st.Email))
		row(w, "Certificate:", describe(st.CertID))
		row(w, "Next certificate:", describe(st.NextCertID))
		row(w, "Created:", date(st.CreatedAt))
		row(w, "Updated:", date(st.UpdatedAt))
	})
}

func stationUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station update", "ID", "Changes the fields of a station that flags give. A key pair rollover starts with\n"+
		"--next-cert-file, --generate-next or --next-cert-id (partners then get the next certificate\n"+
		"from 'as2gate station cert ID --next'; both key pairs decrypt meanwhile), and ends with --promote.", true, stdout, stderr)
	sf := addStationFlags(m)
	certID := m.fs.String("cert-id", "", "use the stored key pair `ID` as the current one")
	nextID := m.fs.String("next-cert-id", "", "use the stored key pair `ID` as the next one (\"\" ends a rollover without promoting)")
	nextFile := m.fs.String("next-cert-file", "", "import the next key pair from a `file` (PEM or PKCS#12 with key and certificate)")
	password := m.fs.String("password", "", "`password` of --next-cert-file (default $AS2GATE_KEY_PASSWORD)")
	generateNext := m.fs.Bool("generate-next", false, "generate the next key pair (see --common-name, --key-bits, --valid-years...)")
	promote := m.fs.Bool("promote", false, "make the next key pair the current one, ending the rollover")
	gen := addGenerateFlags(m.fs)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range []string{"next-cert-id", "next-cert-file", "generate-next"} {
		if m.given[f] {
			n++
		}
	}
	if n > 1 {
		return &exitError{status: 2, err: fmt.Errorf("give one of --next-cert-id, --next-cert-file and --generate-next")}
	}
	in := sf.input(m)
	in.CertID = optional(m, "cert-id", *certID)
	in.NextCertID = optional(m, "next-cert-id", *nextID)
	if in == (client.StationInput{}) && !*generateNext && *nextFile == "" && !*promote {
		return &exitError{status: 2, err: fmt.Errorf("nothing to change: give the flags of what changes (see --help)")}
	}
	return oneCall(ctx, m, func(b backend) (*client.Station, error) {
		st, err := b.GetStation(ctx, pos[0])
		if err != nil {
			return nil, err
		}
		var next *client.Certificate
		var created bool
		switch {
		case *nextFile != "":
			next, created, err = importKeyPair(ctx, b, *nextFile, "", keyPassword(*password))
		case *generateNext:
			next, err = b.GenerateCertificate(ctx, gen.input(truncate(st.AS2ID, 64)))
			created = true
		}
		if err != nil {
			return nil, err
		}
		if next != nil {
			in.NextCertID = &next.ID
		}
		if in != (client.StationInput{}) {
			// By record ID: this update may change the AS2 ID.
			if st, err = b.UpdateStation(ctx, st.ID, in); err != nil {
				if next != nil {
					discard(ctx, b, next, created)
				}
				return nil, err
			}
		}
		if *promote {
			return b.PromoteStationCertificate(ctx, st.ID)
		}
		return st, nil
	}, showStation(ctx, m))
}

// truncate cuts s to at most n runes (a common name is at most 64).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func stationDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station delete", "ID", "Deletes a station without messages in progress. Its key pairs stay (see cert delete).", true, stdout, stderr)
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) (*client.Station, error) {
		st, err := b.GetStation(ctx, pos[0])
		if err != nil {
			return nil, err
		}
		return st, b.DeleteStation(ctx, st.ID)
	}, printWith(m, func(w io.Writer, st *client.Station) { row(w, "deleted station", st.AS2ID, st.ID) }))
}

func stationCert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := newMgmt("station cert", "ID", "Prints the station's public certificate as PEM, and nothing else: what partners need.", false, stdout, stderr)
	next := m.fs.Bool("next", false, "the next certificate of a rollover instead of the current one")
	pos, err := m.parse(args, 1)
	if err != nil {
		return err
	}
	return oneCall(ctx, m, func(b backend) ([]byte, error) { return b.StationCertificatePEM(ctx, pos[0], *next) }, m.writeRaw)
}
