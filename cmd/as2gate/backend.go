package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/service"
)

// backend is what the management commands work on: the service of a local
// installation, or a remote server through the REST client, which has the
// same method set (--server).
type backend interface {
	ListCertificates(ctx context.Context) ([]client.Certificate, error)
	GetCertificate(ctx context.Context, id string) (*client.Certificate, error)
	ImportCertificate(ctx context.Context, in client.CertificateImport) (*client.Certificate, error)
	GenerateCertificate(ctx context.Context, in client.CertificateGenerate) (*client.Certificate, error)
	CertificatePEM(ctx context.Context, id string) ([]byte, error)
	DeleteCertificate(ctx context.Context, id string) error

	ListStations(ctx context.Context) ([]client.Station, error)
	GetStation(ctx context.Context, ref string) (*client.Station, error)
	CreateStation(ctx context.Context, in client.StationInput) (*client.Station, error)
	UpdateStation(ctx context.Context, ref string, in client.StationInput) (*client.Station, error)
	DeleteStation(ctx context.Context, ref string) error
	StationCertificatePEM(ctx context.Context, ref string, next bool) ([]byte, error)
	PromoteStationCertificate(ctx context.Context, ref string) (*client.Station, error)

	ListPartners(ctx context.Context) ([]client.Partner, error)
	GetPartner(ctx context.Context, ref string) (*client.Partner, error)
	CreatePartner(ctx context.Context, in client.PartnerInput) (*client.Partner, error)
	UpdatePartner(ctx context.Context, ref string, in client.PartnerInput) (*client.Partner, error)
	DeletePartner(ctx context.Context, ref string) error

	Send(ctx context.Context, r client.SendRequest) (*client.Message, error)
	ListMessages(ctx context.Context, f client.MessageFilter) (*client.List[client.Message], error)
	GetMessage(ctx context.Context, id string) (*client.Message, error)
	OpenMessageFile(ctx context.Context, id string, index int) (io.ReadCloser, *client.File, error)
	MessageMDN(ctx context.Context, id string) ([]byte, error)
	ResendMessage(ctx context.Context, id string) (*client.Message, error)
	CancelMessage(ctx context.Context, id string) (*client.Message, error)

	ListUsers(ctx context.Context) ([]client.User, error)
	CreateUser(ctx context.Context, in client.UserInput) (*client.User, error)
	UpdateUser(ctx context.Context, id string, in client.UserInput) (*client.User, error)
	DeleteUser(ctx context.Context, id string) error
	ListAPIKeys(ctx context.Context) ([]client.APIKey, error)
	CreateAPIKey(ctx context.Context, in client.APIKeyInput) (*client.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
}

var (
	_ backend = (*service.Service)(nil)
	_ backend = (*client.Client)(nil)
)

// subcommand is one verb of a command group, as in `as2gate station create`.
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// runGroup runs the subcommand that args name.
func runGroup(group string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: as2gate %s SUBCOMMAND [flags]\n\nsubcommands:\n", group)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-9s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'as2gate %s SUBCOMMAND --help' for its flags.\n", group)
	}
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return errHelp
	}
	for _, s := range subs {
		if s.name != args[0] {
			continue
		}
		// Changes made from the console are recorded in the audit log as the CLI's.
		err := s.run(service.WithActor(context.Background(), "cli", ""), args[1:], stdout, stderr)
		if err == nil || err == errUsage || err == errHelp {
			return err
		}
		return fmt.Errorf("%s: %w", s.name, userError(err))
	}
	fmt.Fprintf(stderr, "as2gate %s: unknown subcommand %q\n", group, args[0])
	usage(stderr)
	return errUsage
}

// userError keeps what is meant for users of an error with a code: the
// cause of a duplicate, say, is the database's own wording. Internal
// errors keep every detail, for the operator at the console.
func userError(err error) error {
	var e *as2gate.Error
	if !errors.As(err, &e) || e.Code == as2gate.EInternal {
		return err
	}
	full := err.Error()
	if !strings.HasSuffix(full, e.Error()) { // not wrapped with ": %w"
		return err
	}
	return &exitError{status: 1, err: errors.New(strings.TrimSuffix(full, e.Error()) + as2gate.ErrorMessage(e))}
}

// mgmt is what every management subcommand has: its flags, among them the
// installation's or the server's and --json, and its output.
type mgmt struct {
	fs     *flag.FlagSet
	inst   *config.InstallationFlags // nil for a command without a backend
	server string
	token  string
	json   bool
	given  map[string]bool
	stdout io.Writer
	stderr io.Writer
}

// newCommand makes a command's flag set; withJSON adds --json.
func newCommand(name, args, about string, withJSON bool, stdout, stderr io.Writer) *mgmt {
	m := &mgmt{fs: newFlagSet(name, args, about, stderr), stdout: stdout, stderr: stderr}
	if withJSON {
		m.fs.BoolVar(&m.json, "json", false, "print JSON (the REST API's representation)")
	}
	return m
}

// newMgmt makes a management subcommand's flag set: newCommand's, with the
// flags that choose the backend.
func newMgmt(name, args, about string, withJSON bool, stdout, stderr io.Writer) *mgmt {
	m := newCommand(name, args, about, withJSON, stdout, stderr)
	m.inst = config.RegisterInstallationFlags(m.fs)
	m.fs.StringVar(&m.server, "server", "", "work on the server at this admin `URL` through its REST API instead of a local\n"+
		"installation, e.g. http://localhost:8080 (default $AS2GATE_SERVER)")
	m.fs.StringVar(&m.token, "token", "", "the access `token` or API key for --server (default $AS2GATE_TOKEN, which keeps it\n"+
		"out of the process list)")
	return m
}

// parse parses the flags and checks the number of positional arguments:
// exactly n, or at least -n when n is negative.
func (m *mgmt) parse(args []string, n int) ([]string, error) {
	pos, err := parseFlags(m.fs, args)
	if err != nil {
		return nil, err
	}
	m.given = map[string]bool{}
	m.fs.Visit(func(f *flag.Flag) { m.given[f.Name] = true })
	if (n >= 0 && len(pos) != n) || (n < 0 && len(pos) < -n) {
		m.fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// require reports the first of the flags that was not given.
func (m *mgmt) require(names ...string) error {
	for _, n := range names {
		if !m.given[n] {
			return &exitError{status: 2, err: fmt.Errorf("--%s is required (see --help)", n)}
		}
	}
	return nil
}

// installationFlags choose a local installation; they, --server, --token
// and --json are the flags of every management subcommand.
var installationFlags = []string{"config", "data", "database"}

// changing reports whether flags other than the common ones were given.
func (m *mgmt) changing() bool {
	for name := range m.given {
		if !slices.Contains(installationFlags, name) && !slices.Contains([]string{"json", "server", "token"}, name) {
			return true
		}
	}
	return false
}

// open opens the backend the flags name: the server of --server (or of
// $AS2GATE_SERVER unless an installation's flag is given), else the local
// installation. On a local installation the CLI runs no workers: messages
// it queues are sent by `as2gate serve`, also while it runs.
func (m *mgmt) open(ctx context.Context) (backend, func(), error) {
	local := slices.ContainsFunc(installationFlags, func(f string) bool { return m.given[f] })
	server := m.server
	switch {
	case server != "" && local:
		return nil, nil, &exitError{status: 2, err: errors.New("--server works on a remote server: give no --config, --data or --database with it")}
	case server == "" && !local:
		server = os.Getenv("AS2GATE_SERVER")
	}
	if server == "" && m.given["token"] {
		return nil, nil, &exitError{status: 2, err: errors.New("--token goes with --server (or $AS2GATE_SERVER)")}
	}
	if server != "" {
		token := cmp.Or(m.token, os.Getenv("AS2GATE_TOKEN"))
		if token == "" {
			return nil, nil, &exitError{status: 2, err: errors.New("the server needs a token: --token or $AS2GATE_TOKEN (from 'as2gate login', or an API key)")}
		}
		return client.New(server, client.WithToken(token)), func() {}, nil
	}
	inst, err := m.inst.Resolve(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(m.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	i, err := openInstallation(ctx, inst, gateway.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return service.New(i.gw), func() { i.Close() }, nil
}

// oneCall is the shape of most subcommands, once their flags are parsed:
// open the backend, make one call, show its result.
func oneCall[T any](ctx context.Context, m *mgmt, call func(b backend) (T, error), show func(b backend, v T) error) error {
	b, done, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	v, err := call(b)
	if err != nil {
		return err
	}
	return show(b, v)
}

// printWith shows a result as JSON with --json, as human writes it
// otherwise.
func printWith[T any](m *mgmt, human func(w io.Writer, v T)) func(backend, T) error {
	return func(_ backend, v T) error {
		return m.print(v, func(w *tabwriter.Writer) { human(w, v) })
	}
}

// writeRaw shows a result as it is: a PEM certificate, an MDN.
func (m *mgmt) writeRaw(_ backend, b []byte) error {
	_, err := m.stdout.Write(b)
	return err
}

// optional returns &v when the flag was given, nil otherwise: the inputs'
// nil fields are the ones left alone.
func optional[T any](m *mgmt, name string, v T) *T {
	if m.given[name] {
		return &v
	}
	return nil
}

// print writes v as JSON with --json, as human does otherwise.
func (m *mgmt) print(v any, human func(w *tabwriter.Writer)) error {
	if m.json {
		enc := json.NewEncoder(m.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	human(tw)
	return tw.Flush()
}

// row writes one line of a table or key-value list, its cells cleaned of
// control characters: subjects and names come from partners, and must not
// drive the terminal.
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = clean(c)
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orDash shows an empty value as a dash, so that columns stay aligned.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// keyPassword is the password of key files: --password, else
// AS2GATE_KEY_PASSWORD (which keeps it out of the process list).
func keyPassword(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("AS2GATE_KEY_PASSWORD")
}
