package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// setting is one row of the table that the loader, --help and Markdown all
// read, so that none of them can drift from the others.
type setting struct {
	key     string // TOML key; "" when the config file cannot set it
	flag    string // flag name; "" when no flag sets it (secrets stay out of ps)
	env     string // environment variable, always present
	def     string // default, parsed like any other value; "" for none
	shown   string // default as documented when it is derived from other settings
	help    string // one line; a `word` in back quotes names the flag's argument
	install bool   // also read by commands that only reach the installation
	secret  bool   // never quoted in an error
	number  bool   // the config file may give a TOML integer as well as a string
	set     func(c *Config, v string) error
}

// name is how messages refer to the setting.
func (s *setting) name() string {
	if s.key != "" {
		return s.key
	}
	return s.env
}

// settings lists every setting in the order --help and Markdown show them.
// The config file setting comes first: it is resolved before the others.
var settings = []setting{
	{
		flag: "config", env: "AS2GATE_CONFIG", install: true,
		help: "TOML `file` of settings; flags and environment variables override it",
		set:  text(func(c *Config) *string { return &c.ConfigFile }),
	},
	{
		key: "data_dir", flag: "data", env: "AS2GATE_DATA", def: "./as2gate-data", install: true,
		help: "`directory` of the installation's files: messages, payloads, master.key",
		set:  nonEmpty(func(c *Config) *string { return &c.DataDir }),
	},
	{
		key: "database", flag: "database", env: "AS2GATE_DATABASE", shown: "sqlite:<data_dir>/as2gate.db",
		install: true, secret: true, // a postgres URL may hold a password
		help: "database `URL`: sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/NAME",
		set:  database,
	},
	{
		key: "as2_addr", flag: "as2-addr", env: "AS2GATE_AS2_ADDR", def: ":4080",
		help: "`address` (host:port) of the listener that partners send AS2 messages and MDNs to",
		set:  address(func(c *Config) *string { return &c.AS2Addr }),
	},
	{
		key: "admin_addr", flag: "admin-addr", env: "AS2GATE_ADMIN_ADDR", def: ":8080",
		help: "`address` (host:port) of the admin listener: REST API, web console, /healthz",
		set:  address(func(c *Config) *string { return &c.AdminAddr }),
	},
	{
		key: "as2_tls_cert", flag: "as2-tls-cert", env: "AS2GATE_AS2_TLS_CERT",
		help: "certificate chain `file` (PEM): the AS2 listener serves HTTPS when this and as2_tls_key are set",
		set:  text(func(c *Config) *string { return &c.AS2TLSCert }),
	},
	{
		key: "as2_tls_key", flag: "as2-tls-key", env: "AS2GATE_AS2_TLS_KEY",
		help: "private key `file` (PEM) for HTTPS on the AS2 listener",
		set:  text(func(c *Config) *string { return &c.AS2TLSKey }),
	},
	{
		key: "admin_tls_cert", flag: "admin-tls-cert", env: "AS2GATE_ADMIN_TLS_CERT",
		help: "certificate chain `file` (PEM): the admin listener serves HTTPS when this and admin_tls_key are set",
		set:  text(func(c *Config) *string { return &c.AdminTLSCert }),
	},
	{
		key: "admin_tls_key", flag: "admin-tls-key", env: "AS2GATE_ADMIN_TLS_KEY",
		help: "private key `file` (PEM) for HTTPS on the admin listener",
		set:  text(func(c *Config) *string { return &c.AdminTLSKey }),
	},
	{
		key: "public_url", flag: "public-url", env: "AS2GATE_PUBLIC_URL",
		shown: "http://localhost:<as2_addr port>/as2",
		help:  "our AS2 `URL` as partners reach it, e.g. https://as2.example.com/as2 (the default is https when as2_tls_cert is set)",
		set:   publicURL,
	},
	{
		key: "workers", flag: "workers", env: "AS2GATE_WORKERS", def: "4", number: true,
		help: "`number` of workers that send, receive and deliver messages (1 to 1000)",
		set:  count(func(c *Config) *int { return &c.Workers }, 1, 1000),
	},
	{
		key: "poll_interval", flag: "poll-interval", env: "AS2GATE_POLL_INTERVAL", def: "1s",
		help: "how often workers look for jobs made by other processes (`duration`, e.g. 500ms, 1s)",
		set:  duration(func(c *Config) *time.Duration { return &c.PollInterval }),
	},
	{
		key: "lease", flag: "lease", env: "AS2GATE_LEASE", def: "5m",
		help: "how long a worker holds a job before another may take it over (`duration`)",
		set:  duration(func(c *Config) *time.Duration { return &c.Lease }),
	},
	{
		key: "send_scan_interval", flag: "send-scan-interval", env: "AS2GATE_SEND_SCAN_INTERVAL", def: "2s",
		help: "how often the AS2/send/ folders are scanned for files to send (`duration`)",
		set:  duration(func(c *Config) *time.Duration { return &c.SendScanInterval }),
	},
	{
		key: "max_body_size", flag: "max-body-size", env: "AS2GATE_MAX_BODY_SIZE", def: "20GiB", number: true,
		help: "largest AS2 request body accepted (`size`: bytes, or with KiB, MiB, GiB, TiB, KB, MB, GB, TB); 0 for no limit",
		set:  size(func(c *Config) *int64 { return &c.MaxBodySize }),
	},
	{
		key: "max_decompressed", flag: "max-decompressed", env: "AS2GATE_MAX_DECOMPRESSED", def: "64GiB", number: true,
		help: "largest payload after decompression (`size`); 0 for no limit",
		set:  size(func(c *Config) *int64 { return &c.MaxDecompressed }),
	},
	{
		key: "access_token_ttl", flag: "access-token-ttl", env: "AS2GATE_ACCESS_TOKEN_TTL", def: "15m",
		help: "how long an access token of the REST API is valid (`duration`)",
		set:  duration(func(c *Config) *time.Duration { return &c.AccessTokenTTL }),
	},
	{
		key: "refresh_token_ttl", flag: "refresh-token-ttl", env: "AS2GATE_REFRESH_TOKEN_TTL", def: "720h",
		help: "how long a refresh token of the REST API is valid (`duration`; 720h is 30 days)",
		set:  duration(func(c *Config) *time.Duration { return &c.RefreshTokenTTL }),
	},
	{
		key: "log_level", flag: "log-level", env: "AS2GATE_LOG_LEVEL", def: "info",
		help: "`level` of logging: debug, info, warn or error",
		set:  oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error"),
	},
	{
		key: "log_format", flag: "log-format", env: "AS2GATE_LOG_FORMAT", def: "text",
		help: "`format` of log lines: text or json",
		set:  oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json"),
	},
	{
		env: "AS2GATE_MASTER_KEY", install: true, secret: true, shown: "<data_dir>/master.key",
		help: "master key sealing our private keys in the database, base64 of 32 bytes " +
			"(openssl rand -base64 32); when unset, the file <data_dir>/master.key, created on first start",
		set: text(func(c *Config) *string { return &c.MasterKey }),
	},
	{
		env: "AS2GATE_ADMIN_PASSWORD", secret: true,
		help: "password of the first administrator, read on the first start only",
		set:  text(func(c *Config) *string { return &c.AdminPassword }),
	},
}

// Setters: each parses and checks one value. Their errors do not name the
// setting; the loader wraps them in a SettingError that does.

func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func nonEmpty(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		*field(c) = v
		return nil
	}
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func address(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, err := port(v); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

// port returns the port of a host:port listening address.
func port(addr string) (string, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("want host:port, e.g. :4080 or 127.0.0.1:4080")
	}
	if _, err := strconv.ParseUint(p, 10, 16); err != nil {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return p, nil
}

func count(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration such as 500ms, 30s, 5m or 1h")
		}
		*field(c) = d
		return nil
	}
}

func size(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

// sizeUnits are matched in order, ignoring case, so "B" must come last.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseSize reads a byte count: "1000000", "512MiB", "20 GiB", "1GB".
func parseSize(s string) (int64, error) {
	digits, unit := s, int64(1)
	for _, u := range sizeUnits {
		if len(s) >= len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			digits, unit = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size in bytes such as 1000000, 512MiB or 20GiB")
	}
	if n > math.MaxInt64/unit {
		return 0, errors.New("size too large")
	}
	return n * unit, nil
}

func database(c *Config, v string) error {
	if v != "" {
		rest, sqlite := strings.CutPrefix(v, "sqlite:")
		if sqlite && rest == "" {
			return errors.New("sqlite: needs a file path, e.g. sqlite:/var/lib/as2gate/as2gate.db")
		}
		if !sqlite && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
			return errors.New("want sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/NAME")
		}
	}
	c.Database = v // "" is derived from data_dir once all settings are read
	return nil
}

func publicURL(c *Config, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http:// or https:// URL with a host, e.g. https://as2.example.com/as2")
		}
	}
	c.PublicURL = v // "" is derived from as2_addr once all settings are read
	return nil
}
