package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// environ returns an env function over a fixed map.
func environ(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// writeFile writes a TOML config file in a fresh directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "as2gate.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	c, rest, err := Load(nil, environ(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Installation: Installation{
			DataDir:  "./as2gate-data",
			Database: "sqlite:as2gate-data/as2gate.db",
		},
		AS2Addr:          ":4080",
		AdminAddr:        ":8080",
		PublicURL:        "http://localhost:4080/as2",
		Workers:          4,
		PollInterval:     time.Second,
		Lease:            5 * time.Minute,
		SendScanInterval: 2 * time.Second,
		MaxBodySize:      20 << 30,
		MaxDecompressed:  64 << 30,
		AccessTokenTTL:   15 * time.Minute,
		RefreshTokenTTL:  30 * 24 * time.Hour,
		LogLevel:         "info",
		LogFormat:        "text",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if len(rest) != 0 {
		t.Errorf("remaining args = %q", rest)
	}
}

// TestPrecedence sets one setting of each kind in every combination of
// sources: default < file < environment < flag.
func TestPrecedence(t *testing.T) {
	type values struct{ file, env, flag string } // "" = not given
	for _, tc := range []struct {
		key, env, flag string
		field          func(*Config) any
		def            any
		sources        values // file values are TOML literals
		file, envW     any    // expected when the file, then also the environment, is given
		flagW          any
	}{
		{"as2_addr", "AS2GATE_AS2_ADDR", "as2-addr", func(c *Config) any { return c.AS2Addr }, ":4080",
			values{`"127.0.0.1:1"`, ":2", ":3"}, "127.0.0.1:1", ":2", ":3"},
		{"data_dir", "AS2GATE_DATA", "data", func(c *Config) any { return c.DataDir }, "./as2gate-data",
			values{`"/srv/f"`, "/srv/e", "/srv/g"}, "/srv/f", "/srv/e", "/srv/g"},
		{"workers", "AS2GATE_WORKERS", "workers", func(c *Config) any { return c.Workers }, 4,
			values{`7`, "8", "9"}, 7, 8, 9},
		{"lease", "AS2GATE_LEASE", "lease", func(c *Config) any { return c.Lease }, 5 * time.Minute,
			values{`"90s"`, "2h", "10ms"}, 90 * time.Second, 2 * time.Hour, 10 * time.Millisecond},
		{"max_body_size", "AS2GATE_MAX_BODY_SIZE", "max-body-size", func(c *Config) any { return c.MaxBodySize }, int64(20 << 30),
			values{`1000000`, "512MiB", "0"}, int64(1000000), int64(512 << 20), int64(0)},
		{"log_format", "AS2GATE_LOG_FORMAT", "log-format", func(c *Config) any { return c.LogFormat }, "text",
			values{`"json"`, "text", "json"}, "json", "text", "json"},
	} {
		file := writeFile(t, tc.key+" = "+tc.sources.file+"\n")
		for _, step := range []struct {
			name string
			args []string
			env  map[string]string
			want any
		}{
			{"default", nil, nil, tc.def},
			{"file", []string{"--config", file}, nil, tc.file},
			{"file+env", []string{"--config", file}, map[string]string{tc.env: tc.sources.env}, tc.envW},
			{"env+flag", []string{"--" + tc.flag, tc.sources.flag}, map[string]string{tc.env: tc.sources.env}, tc.flagW},
			{"file+env+flag", []string{"--config", file, "--" + tc.flag, tc.sources.flag}, map[string]string{tc.env: tc.sources.env}, tc.flagW},
			{"file via AS2GATE_CONFIG", nil, map[string]string{"AS2GATE_CONFIG": file}, tc.file},
		} {
			c, _, err := Load(step.args, environ(step.env), io.Discard)
			if err != nil {
				t.Errorf("%s, %s: %v", tc.key, step.name, err)
				continue
			}
			if got := tc.field(c); got != step.want {
				t.Errorf("%s, %s: got %v, want %v", tc.key, step.name, got, step.want)
			}
		}
	}
}

func TestConfigFileFlagBeatsEnv(t *testing.T) {
	byFlag := writeFile(t, "workers = 2\n")
	byEnv := writeFile(t, "workers = 3\n")
	c, _, err := Load([]string{"--config", byFlag}, environ(map[string]string{"AS2GATE_CONFIG": byEnv}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 2 || c.ConfigFile != byFlag {
		t.Errorf("read %s (workers %d), want %s", c.ConfigFile, c.Workers, byFlag)
	}
}

func TestDerived(t *testing.T) {
	for _, tc := range []struct {
		name                string
		args                []string
		env                 map[string]string
		database, publicURL string
	}{
		{"data dir by flag", []string{"--data", "/var/lib/as2gate"}, nil,
			"sqlite:/var/lib/as2gate/as2gate.db", "http://localhost:4080/as2"},
		{"data dir by env", nil, map[string]string{"AS2GATE_DATA": "/srv/x/"},
			"sqlite:/srv/x/as2gate.db", "http://localhost:4080/as2"},
		{"database given", []string{"--data", "/d", "--database", "postgres://u@h/as2"}, nil,
			"postgres://u@h/as2", "http://localhost:4080/as2"},
		{"AS2 port", []string{"--as2-addr", "0.0.0.0:9443"}, nil,
			"sqlite:as2gate-data/as2gate.db", "http://localhost:9443/as2"},
		{"AS2 over TLS", []string{"--as2-addr", ":443", "--as2-tls-cert", "c.pem", "--as2-tls-key", "k.pem"}, nil,
			"sqlite:as2gate-data/as2gate.db", "https://localhost:443/as2"},
		{"admin TLS does not count", []string{"--admin-tls-cert", "c.pem", "--admin-tls-key", "k.pem"}, nil,
			"sqlite:as2gate-data/as2gate.db", "http://localhost:4080/as2"},
		{"public URL given", []string{"--as2-addr", ":1"}, map[string]string{"AS2GATE_PUBLIC_URL": "https://as2.example.com/in"},
			"sqlite:as2gate-data/as2gate.db", "https://as2.example.com/in"},
	} {
		c, _, err := Load(tc.args, environ(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Database != tc.database || c.PublicURL != tc.publicURL {
			t.Errorf("%s: database %q, public URL %q; want %q, %q", tc.name, c.Database, c.PublicURL, tc.database, tc.publicURL)
		}
	}
}

func TestEnvironmentOnly(t *testing.T) {
	c, _, err := Load(nil, environ(map[string]string{
		"AS2GATE_MASTER_KEY":     "bWFzdGVy",
		"AS2GATE_ADMIN_PASSWORD": "first",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MasterKey != "bWFzdGVy" || c.AdminPassword != "first" {
		t.Errorf("master key %q, admin password %q", c.MasterKey, c.AdminPassword)
	}
	for _, args := range [][]string{{"--master-key", "x"}, {"--admin-password", "x"}} {
		if _, _, err := Load(args, environ(nil), io.Discard); err == nil {
			t.Errorf("%v accepted: secrets must stay out of the command line", args)
		}
	}
	for _, content := range []string{`master_key = "x"`, `admin_password = "x"`} {
		if _, _, err := Load([]string{"--config", writeFile(t, content)}, environ(nil), io.Discard); err == nil {
			t.Errorf("config file %q accepted", content)
		}
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		file    string
		setting string // named by the error
		origin  string
	}{
		{args: []string{"--workers", "0"}, setting: "workers", origin: "--workers"},
		{args: []string{"--workers", "1001"}, setting: "workers", origin: "--workers"},
		{env: map[string]string{"AS2GATE_WORKERS": "four"}, setting: "workers", origin: "AS2GATE_WORKERS"},
		{file: "workers = -1", setting: "workers", origin: "config file"},
		{file: "workers = 1e3", setting: "workers", origin: "config file"},
		{args: []string{"--as2-addr", "4080"}, setting: "as2_addr", origin: "--as2-addr"},
		{args: []string{"--as2-addr", ":http"}, setting: "as2_addr", origin: "--as2-addr"},
		{env: map[string]string{"AS2GATE_ADMIN_ADDR": ":65536"}, setting: "admin_addr", origin: "AS2GATE_ADMIN_ADDR"},
		{args: []string{"--poll-interval", "0s"}, setting: "poll_interval", origin: "--poll-interval"},
		{args: []string{"--lease", "5"}, setting: "lease", origin: "--lease"},
		{file: `send_scan_interval = "-2s"`, setting: "send_scan_interval", origin: "config file"},
		{file: `send_scan_interval = 2`, setting: "send_scan_interval", origin: "config file"},
		{args: []string{"--max-body-size", "-1"}, setting: "max_body_size", origin: "--max-body-size"},
		{args: []string{"--max-body-size", "20XB"}, setting: "max_body_size", origin: "--max-body-size"},
		{env: map[string]string{"AS2GATE_MAX_DECOMPRESSED": "1.5GiB"}, setting: "max_decompressed", origin: "AS2GATE_MAX_DECOMPRESSED"},
		{args: []string{"--log-level", "verbose"}, setting: "log_level", origin: "--log-level"},
		{args: []string{"--log-format", "xml"}, setting: "log_format", origin: "--log-format"},
		{args: []string{"--public-url", "ftp://as2.example.com/"}, setting: "public_url", origin: "--public-url"},
		{args: []string{"--public-url", "as2.example.com/as2"}, setting: "public_url", origin: "--public-url"},
		{args: []string{"--database", "mysql://u@h/db"}, setting: "database", origin: "--database"},
		{env: map[string]string{"AS2GATE_DATABASE": "sqlite:"}, setting: "database", origin: "AS2GATE_DATABASE"},
		{args: []string{"--data", ""}, setting: "data_dir", origin: "--data"},
		{file: `data_dir = ""`, setting: "data_dir", origin: "config file"},
		{args: []string{"--as2-tls-cert", "c.pem"}, setting: "as2_tls_key"},
		{env: map[string]string{"AS2GATE_ADMIN_TLS_KEY": "k.pem"}, setting: "admin_tls_cert"},
	} {
		args := tc.args
		if tc.file != "" {
			args = append([]string{"--config", writeFile(t, tc.file)}, args...)
		}
		_, _, err := Load(args, environ(tc.env), io.Discard)
		if err == nil {
			t.Errorf("%v %v %q: accepted", tc.args, tc.env, tc.file)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.setting) || !strings.Contains(msg, tc.origin) {
			t.Errorf("%v %v %q: error %q does not name %s and %q", tc.args, tc.env, tc.file, msg, tc.setting, tc.origin)
		}
		var se *SettingError
		if tc.origin != "" && (!errors.As(err, &se) || se.Setting != tc.setting) {
			t.Errorf("%v %v %q: error %v is not a SettingError for %s", tc.args, tc.env, tc.file, err, tc.setting)
		}
	}
}

func TestSecretsNotQuoted(t *testing.T) {
	_, _, err := Load([]string{"--database", "mysql://as2:hunter2@db/as2"}, environ(nil), io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v: want one that does not quote the database URL", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, content, message string
	}{
		{"unknown key", "workers = 2\nworker_count = 3\n", `unknown setting "worker_count"`},
		{"table", "[server]\nas2_addr = \":1\"\n", `unknown setting "server"`},
		{"quoted empty key", `"" = "x"`, `unknown setting ""`},
		{"string wanted", "data_dir = 5\n", "must be a string"},
		{"boolean", "workers = true\n", "must be a whole number or a string"},
		{"array", `as2_addr = [":1"]`, "must be a string"},
		{"syntax", "workers = \n", "as2gate.toml"},
		{"too large", "# " + strings.Repeat("x", maxFileSize) + "\n", "over 1048576 bytes"},
	} {
		_, _, err := Load([]string{"--config", writeFile(t, tc.content)}, environ(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: error = %v, want one saying %q", tc.name, err, tc.message)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.toml")
	for _, load := range []func() error{
		func() error { _, _, err := Load([]string{"--config", missing}, environ(nil), io.Discard); return err },
		func() error {
			_, _, err := Load(nil, environ(map[string]string{"AS2GATE_CONFIG": missing}), io.Discard)
			return err
		},
	} {
		if err := load(); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing config file: error = %v", err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1000000", 1000000}, {"5B", 5}, {"1KiB", 1024}, {"1KB", 1000}, {"1kb", 1000},
		{"512MiB", 512 << 20}, {"512mib", 512 << 20}, {"20GiB", 20 << 30}, {"20 GiB", 20 << 30},
		{"1GB", 1e9}, {"2TiB", 2 << 40}, {"3TB", 3e12},
		{"9223372036854775807", 1<<63 - 1}, {"8388607TiB", 8388607 << 40},
	} {
		if got, err := parseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "GiB", "B", "-1", "-1KiB", "1.5GiB", "1e9", "1 PiB", "1GiBs", "0x10", " 1", "1 ",
		"9223372036854775808", "8388608TiB", "9223372036854775807KB",
	} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestRemainingArgs(t *testing.T) {
	c, rest, err := Load([]string{"--workers", "2", "extra", "--lease", "1s"}, environ(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 2 || !reflect.DeepEqual(rest, []string{"extra", "--lease", "1s"}) {
		t.Errorf("workers %d, remaining %q", c.Workers, rest)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, _, err := Load([]string{"-h"}, environ(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Load(-h) error = %v, want flag.ErrHelp", err)
	}
	help := out.String()
	for _, want := range []string{
		"-workers number", "AS2GATE_WORKERS", "(default 4)", "-max-body-size size", "(default 20GiB)",
		"-database URL", "(default sqlite:<data_dir>/as2gate.db)", "AS2GATE_MASTER_KEY", "AS2GATE_ADMIN_PASSWORD",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "-master-key") || strings.Contains(help, "`") {
		t.Errorf("--help shows a secret flag or raw back quotes:\n%s", help)
	}

	out.Reset()
	if _, _, err := Load([]string{"--no-such-flag"}, environ(nil), &out); err == nil || !strings.Contains(out.String(), "no-such-flag") {
		t.Errorf("unknown flag: error %v, output %q", err, out.String())
	}
}

func TestInstallation(t *testing.T) {
	dir := t.TempDir()
	// A bad serve-only value must not stop a subcommand; the installation's
	// own settings come from the same file.
	file := writeFile(t, "data_dir = \""+dir+"\"\nworkers = 0\n")
	env := environ(map[string]string{"AS2GATE_CONFIG": file, "AS2GATE_MASTER_KEY": "a2V5"})

	fs := flag.NewFlagSet("station create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	inst := RegisterInstallationFlags(fs)
	name := fs.String("name", "", "station name")
	if err := fs.Parse([]string{"--name", "acme"}); err != nil {
		t.Fatal(err)
	}
	got, err := inst.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	want := &Installation{ConfigFile: file, DataDir: dir, Database: "sqlite:" + filepath.Join(dir, "as2gate.db"), MasterKey: "a2V5"}
	if !reflect.DeepEqual(got, want) || *name != "acme" {
		t.Errorf("installation = %+v, want %+v", got, want)
	}
	for _, f := range []string{"config", "data", "database"} {
		if fs.Lookup(f) == nil {
			t.Errorf("--%s not registered", f)
		}
	}
	if fs.Lookup("workers") != nil || fs.Lookup("as2-addr") != nil {
		t.Error("serve-only flags registered for a subcommand")
	}

	// Flags win over the file, as for serve; serve reads the same installation.
	fs = flag.NewFlagSet("station create", flag.ContinueOnError)
	inst = RegisterInstallationFlags(fs)
	args := []string{"--data", "/other", "--database", "postgres://h/db"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	sub, err := inst.Resolve(environ(map[string]string{"AS2GATE_CONFIG": writeFile(t, "data_dir = \"/d\"\n")}))
	if err != nil {
		t.Fatal(err)
	}
	serve, _, err := Load(append(args, "--config", sub.ConfigFile), environ(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sub.DataDir != "/other" || sub.Database != "postgres://h/db" || !reflect.DeepEqual(*sub, serve.Installation) {
		t.Errorf("subcommand reads %+v, serve reads %+v", *sub, serve.Installation)
	}

	// Unknown keys and bad installation values are still errors.
	for _, content := range []string{"wrokers = 2\n", "database = \"mysql://x\"\n"} {
		fs = flag.NewFlagSet("x", flag.ContinueOnError)
		inst = RegisterInstallationFlags(fs)
		if _, err := inst.Resolve(environ(map[string]string{"AS2GATE_CONFIG": writeFile(t, content)})); err == nil {
			t.Errorf("installation accepted config file %q", content)
		}
	}
}

func TestTable(t *testing.T) {
	if settings[0].flag != "config" || settings[0].key != "" {
		t.Fatal("settings[0] must be the config file setting: resolve reads it first")
	}
	seen := map[string]bool{}
	for _, s := range settings {
		if !strings.HasPrefix(s.env, "AS2GATE_") || s.help == "" || s.set == nil {
			t.Errorf("setting %s: needs an AS2GATE_ variable, help and a setter", s.name())
		}
		for _, id := range []string{"key " + s.key, "flag " + s.flag, "env " + s.env} {
			if !strings.HasSuffix(id, " ") && seen[id] {
				t.Errorf("%s defined twice", id)
			}
			seen[id] = true
		}
		if s.def != "" && s.shown != "" {
			t.Errorf("setting %s: both a default and a derived one", s.name())
		}
	}
}

// TestREADME keeps the README's reference equal to the table.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("\n## Configuration")) {
		t.Skip("README.md has no ## Configuration section yet: paste config.Markdown() into one")
	}
	if !bytes.Contains(readme, []byte(Markdown())) {
		t.Errorf("README.md's ## Configuration does not hold the current settings table; replace it with:\n\n%s", Markdown())
	}
}
