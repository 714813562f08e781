// Package config reads the settings of as2gate from, in increasing
// precedence: built-in defaults, an optional TOML file (--config or
// AS2GATE_CONFIG), AS2GATE_* environment variables, and command-line flags.
//
// Every setting is defined once, in the table of settings.go, which the
// loader, the flags' --help and the README's reference (Markdown) all read.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Installation is what every command needs to reach an installation's data:
// `as2gate serve` and the administrative subcommands read it alike.
type Installation struct {
	ConfigFile string // the TOML file read, "" for none
	DataDir    string
	Database   string // a URL: sqlite:PATH, postgres://...; derived from DataDir when not set
	MasterKey  string // base64, from AS2GATE_MASTER_KEY only; "" means <DataDir>/master.key
}

// Config is the configuration of `as2gate serve`. The comments of the table
// in settings.go document each field.
type Config struct {
	Installation
	AS2Addr                   string // partner-facing listener
	AdminAddr                 string // REST API, console, /healthz
	AS2TLSCert, AS2TLSKey     string // HTTPS on the AS2 listener when both are set
	AdminTLSCert, AdminTLSKey string // HTTPS on the admin listener when both are set
	PublicURL                 string // our AS2 URL as partners reach it; derived from AS2Addr when not set
	Workers                   int
	PollInterval              time.Duration
	Lease                     time.Duration
	SendScanInterval          time.Duration
	MaxBodySize               int64 // bytes; 0 for no limit
	MaxDecompressed           int64 // bytes; 0 for no limit
	AccessTokenTTL            time.Duration
	RefreshTokenTTL           time.Duration
	LogLevel                  string
	LogFormat                 string
	AdminPassword             string // from AS2GATE_ADMIN_PASSWORD only
}

// SettingError reports a value that a setting does not accept.
type SettingError struct {
	Setting string // TOML key, or the environment variable of a setting the file cannot hold
	Origin  string // where the value came from: default, --flag, AS2GATE_X, or the config file
	Value   string // "" for a secret setting, whose value is never repeated
	Err     error
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s (from %s): %v", e.Setting, e.Origin, e.Err)
	}
	return fmt.Sprintf("%s %q (from %s): %v", e.Setting, e.Value, e.Origin, e.Err)
}

func (e *SettingError) Unwrap() error { return e.Err }

// maxFileSize bounds the config file read: a real one is a few KiB.
const maxFileSize = 1 << 20

// Load parses the flags of `as2gate serve` in args, reads the config file and
// the environment through env (os.Getenv in production), and returns the
// checked configuration with the arguments left after the flags. Usage and
// flag errors are printed to stderr by the flag package, which also returns
// flag.ErrHelp for -h.
func Load(args []string, env func(string) string, stderr io.Writer) (*Config, []string, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	given := register(fs, func(*setting) bool { return true })
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: as2gate serve [flags]\n\n"+
			"Runs the gateway. Each setting is taken from, in increasing precedence: its default,\n"+
			"the TOML file given by --config, its environment variable [shown in brackets], its flag.\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nenvironment only:\n")
		for i := range settings {
			if s := &settings[i]; s.flag == "" {
				fmt.Fprintf(stderr, "  %s\n    \t%s\n", s.env, s.help)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	c, err := resolve(func(*setting) bool { return true }, given, env)
	if err != nil {
		return nil, nil, err
	}
	if err := c.finish(); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

// InstallationFlags are the installation's flags registered on the flag set
// of a subcommand.
type InstallationFlags struct {
	given map[*setting]string
}

// RegisterInstallationFlags adds --config, --data and --database to fs, so
// that a subcommand such as `as2gate station create` reaches the same
// installation as `as2gate serve` given the same flags, environment and file.
func RegisterInstallationFlags(fs *flag.FlagSet) *InstallationFlags {
	return &InstallationFlags{given: register(fs, isInstall)}
}

// Resolve returns the installation once fs is parsed. It reads only the
// installation's settings, so a bad value of a serve-only setting does not
// stop a subcommand; an unknown key in the config file still does.
func (f *InstallationFlags) Resolve(env func(string) string) (*Installation, error) {
	c, err := resolve(isInstall, f.given, env)
	if err != nil {
		return nil, err
	}
	c.Installation.finish()
	return &c.Installation, nil
}

func isInstall(s *setting) bool { return s.install }

// flagValue records a flag's value for resolve, which checks it with the
// other sources so that every error names where its value came from.
type flagValue struct {
	s     *setting
	given map[*setting]string
}

func (v flagValue) String() string {
	if v.s == nil { // the flag package asks a zero value for its text
		return ""
	}
	if g, ok := v.given[v.s]; ok {
		return g
	}
	return v.s.defaultText()
}

func (v flagValue) Set(x string) error {
	v.given[v.s] = x
	return nil
}

func (s *setting) defaultText() string {
	if s.shown != "" {
		return s.shown
	}
	return s.def
}

// register defines a flag on fs for each selected setting that has one.
func register(fs *flag.FlagSet, selected func(*setting) bool) map[*setting]string {
	given := map[*setting]string{}
	for i := range settings {
		s := &settings[i]
		if s.flag != "" && selected(s) {
			fs.Var(flagValue{s, given}, s.flag, s.help+" ["+s.env+"]")
		}
	}
	return given
}

// resolve reads the selected settings from their sources and checks them.
func resolve(selected func(*setting) bool, given map[*setting]string, env func(string) string) (*Config, error) {
	c := &Config{}
	configFile := &settings[0] // first in the table: it says where the others may come from
	path, origin := lookup(configFile, given, env, nil, "")
	if err := configFile.set(c, path); err != nil {
		return nil, &SettingError{configFile.name(), origin, path, err}
	}
	var file map[string]string
	if path != "" {
		var err error
		if file, err = readFile(path); err != nil {
			return nil, err
		}
	}
	for i := range settings[1:] {
		s := &settings[1+i]
		if !selected(s) {
			continue
		}
		v, origin := lookup(s, given, env, file, path)
		if err := s.set(c, v); err != nil {
			if s.secret {
				v = ""
			}
			return nil, &SettingError{s.name(), origin, v, err}
		}
	}
	return c, nil
}

// lookup returns a setting's value from its source of highest precedence,
// and that source.
func lookup(s *setting, given map[*setting]string, env func(string) string, file map[string]string, path string) (value, origin string) {
	value, origin = s.def, "default"
	if v, ok := file[s.key]; ok && s.key != "" {
		value, origin = v, "config file "+path
	}
	if v := env(s.env); v != "" {
		value, origin = v, s.env
	}
	if v, ok := given[s]; ok {
		value, origin = v, "--"+s.flag
	}
	return value, origin
}

// readFile reads the TOML config file into its settings' text values. A key
// that names no setting is an error: a misspelt key would otherwise be
// silently ignored and its default used.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config file %s: over %d bytes", path, maxFileSize)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	values := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(raw)) { // the first unknown key, always the same
		s := byKey(key)
		if s == nil {
			return nil, fmt.Errorf("config file %s: unknown setting %q (the settings are listed by as2gate serve --help)", path, key)
		}
		switch v := raw[key].(type) {
		case string:
			values[key] = v
		case int64:
			if !s.number {
				return nil, &SettingError{key, "config file " + path, "", errors.New("must be a string, in quotes")}
			}
			values[key] = fmt.Sprint(v)
		default:
			want := "a string"
			if s.number {
				want = "a whole number or a string"
			}
			return nil, &SettingError{key, "config file " + path, "", errors.New("must be " + want)}
		}
	}
	return values, nil
}

func byKey(key string) *setting {
	for i := range settings {
		if settings[i].key == key && key != "" {
			return &settings[i]
		}
	}
	return nil
}

// finish derives the defaults that depend on other settings.
func (in *Installation) finish() {
	if in.Database == "" {
		in.Database = "sqlite:" + filepath.Join(in.DataDir, "as2gate.db")
	}
}

// finish derives the defaults that depend on other settings and checks the
// settings that only make sense together.
func (c *Config) finish() error {
	c.Installation.finish()
	for _, pair := range []struct {
		cert, key         string
		certName, keyName string
	}{
		{c.AS2TLSCert, c.AS2TLSKey, "as2_tls_cert", "as2_tls_key"},
		{c.AdminTLSCert, c.AdminTLSKey, "admin_tls_cert", "admin_tls_key"},
	} {
		if (pair.cert == "") != (pair.key == "") {
			return fmt.Errorf("%s and %s must be given together, or neither", pair.certName, pair.keyName)
		}
	}
	if c.PublicURL == "" {
		p, _ := port(c.AS2Addr) // checked when read
		scheme := "http"
		if c.AS2TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://localhost:" + p + "/as2"
	}
	return nil
}

// Markdown returns the reference table of every setting, for the README.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Config file key | Flag | Environment variable | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i := range settings {
		s := &settings[i]
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n",
			code(s.key), code(prefix("--", s.flag)), s.env, code(s.defaultText()), cell(s.help))
	}
	return b.String()
}

func prefix(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// code renders a cell's value as code, or a dash when there is none.
func code(s string) string {
	if s == "" {
		return "–"
	}
	return "`" + cell(s) + "`"
}

// cell makes text safe in a table cell. The back quotes of help texts only
// name flag arguments for --help.
func cell(s string) string {
	return strings.NewReplacer("`", "", "|", `\|`).Replace(s)
}
