package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/pelletier/go-toml/v2"
)

// Config is the whole configuration of the dbplane binary, server and client
// side alike, so one file can serve a host that runs both. It is layered:
// DefaultConfig, then a TOML file (LoadConfig), then DBPLANE_* environment
// variables (ApplyEnv), then the command-line flags the user actually set
// (ApplyFlags). The table in configKeys names every key's TOML key,
// environment variable and flag.
type Config struct {
	// Listen is the address the control plane's HTTP server binds.
	Listen string
	// AdvertiseURL is the https URL agents and clients reach the control
	// plane at, when it is not the listen address (a wildcard listen, a
	// load balancer, NAT). It goes into the agent command that adding a
	// host by address shows, and its host into the API certificate the
	// control plane issues itself. Empty means the listen address.
	AdvertiseURL string
	// DataDir holds the control plane's local state, including the default
	// SQLite metadata store.
	DataDir string
	// Store is the metadata store DSN: postgres://… selects PostgreSQL,
	// anything else is a SQLite file path. Empty means the SQLite file
	// <DataDir>/dbplane.db (see StoreDSN).
	Store string
	// Workers bounds how many subtasks this control plane runs at once.
	Workers int
	// LeaseTTL is how long a claimed subtask stays leased without renewal;
	// after it a dead executor's subtasks return to READY.
	LeaseTTL time.Duration
	// ShutdownGrace is how long a shutdown waits for running subtasks to
	// reach a safe point before their leases are released.
	ShutdownGrace time.Duration
	// MaxBodyBytes caps request bodies; larger ones are refused with 413.
	MaxBodyBytes int64
	// MaxPackageBytes bounds an uploaded software package file.
	MaxPackageBytes int64
	// CatalogEngines are catalog entries added to (or replacing entries
	// of) the built-in catalog; see Catalog.
	CatalogEngines []dbplane.EngineVersion
	// LogLevel is the minimum level logged: debug, info, warn or error.
	LogLevel string
	// LogFormat is text (for people) or json (for log collectors).
	LogFormat string
	// TLSCertFile and TLSKeyFile are the PEM certificate (with its chain)
	// and key the API serves. When both are empty the control plane serves
	// a certificate of its own CA, which clients verify with
	// <DataDir>/ca.pem.
	TLSCertFile string
	TLSKeyFile  string
	// AdminPassword is the bootstrap admin's password, used only when the
	// admin user is first created. It is taken from the environment or the
	// file, never from a flag, so it does not show in ps.
	AdminPassword string

	// Server is the base URL of the control plane the CLI talks to.
	Server string
	// CAFile is the PEM file of the CA certificates the CLI verifies the
	// server with: the control plane's <data dir>/ca.pem when it serves a
	// certificate of its own CA. Empty means the CA saved by `dbplane
	// login`, else the system's roots.
	CAFile string
	// Token is the bearer token the CLI sends. When empty the CLI uses the
	// token saved by `dbplane login`, then exchanges User and Password.
	Token string
	// User is the user name the CLI logs in as.
	User string
	// Password is exchanged with User for a token when no token is known.
	Password string
	// Output is how the CLI prints results: text or json.
	Output string
}

// DefaultConfig returns the configuration used when nothing else is set: a
// local control plane on the loopback interface with its store under
// /var/lib/dbplane, and a CLI that talks to it as admin.
func DefaultConfig() *Config {
	return &Config{
		Listen:          "127.0.0.1:8080",
		DataDir:         "/var/lib/dbplane",
		Workers:         16,
		LeaseTTL:        15 * time.Second,
		ShutdownGrace:   30 * time.Second,
		MaxBodyBytes:    1 << 20,
		MaxPackageBytes: dbplane.DefaultMaxPackageBytes,
		LogLevel:        "info",
		LogFormat:       "text",
		Server:          "https://127.0.0.1:8080",
		User:            dbplane.AdminUser,
		Output:          outputText,
	}
}

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// StoreDSN returns the metadata store DSN to open: Store, or the SQLite file
// in DataDir when Store is empty.
func (c *Config) StoreDSN() string {
	if c.Store != "" {
		return c.Store
	}
	return filepath.Join(c.DataDir, "dbplane.db")
}

// NewLogger returns a logger writing to w in LogFormat at LogLevel. The
// configuration must have passed Validate.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	// Validate accepted the level, so UnmarshalText cannot fail here.
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LoadConfig returns DefaultConfig overlaid with the TOML file at path; an
// empty path means no file. Unknown keys are errors, so a typo does not
// silently fall back to a default. Errors name the offending keys.
func LoadConfig(path string) (*Config, error) {
	c := DefaultConfig()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, dbplane.Errorf(dbplane.KindInvalid, "cannot read config file %s: %v", path, unwrapPathError(err))
	}
	if err := c.applyTOML(path, data); err != nil {
		return nil, err
	}
	return c, nil
}

// unwrapPathError drops the path from err, which the caller already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// applyTOML overlays the TOML document data, read from path, onto c.
func (c *Config) applyTOML(path string, data []byte) error {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return dbplane.Errorf(dbplane.KindInvalid, "config file %s:%d:%d: %s", path, row, col, de.Error())
		}
		return dbplane.Errorf(dbplane.KindInvalid, "config file %s: %v", path, err)
	}
	var fields []dbplane.FieldError
	names := make([]string, 0, len(doc))
	for name := range doc {
		names = append(names, name)
	}
	slices.Sort(names) // report errors in a stable order
	for _, name := range names {
		k := keyByName(name)
		if k == nil {
			fields = append(fields, dbplane.FieldError{Field: name, Message: "unknown key"})
			continue
		}
		if err := k.decode(c, doc[name]); err != nil {
			fields = append(fields, dbplane.FieldError{Field: name, Message: err.Error()})
		}
	}
	return invalidConfig("config file "+path, fields)
}

// ApplyEnv overlays the DBPLANE_* environment variables that are set and not
// empty. getenv is os.Getenv outside tests. Errors name the variables.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var fields []dbplane.FieldError
	for _, k := range configKeys {
		v := getenv(k.env)
		if v == "" {
			continue
		}
		if err := k.parse(c, v); err != nil {
			fields = append(fields, dbplane.FieldError{Field: k.env, Message: err.Error()})
		}
	}
	return invalidConfig("the environment", fields)
}

// Validate checks the merged configuration. Errors name the TOML keys.
func (c *Config) Validate() error {
	var fields []dbplane.FieldError
	bad := func(key, format string, args ...any) {
		fields = append(fields, dbplane.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "must be host:port, got %q", c.Listen)
	}
	if c.AdvertiseURL != "" {
		if u, err := url.Parse(c.AdvertiseURL); err != nil || u.Scheme != "https" || u.Hostname() == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			bad("advertise_url", "must be an https:// URL with a host and no path, got %q", c.AdvertiseURL)
		}
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file", "tls_cert_file and tls_key_file must be set together")
	}
	if c.Workers < 1 || c.Workers > 4096 {
		bad("workers", "must be between 1 and 4096, got %d", c.Workers)
	}
	if c.LeaseTTL < time.Second {
		bad("lease_ttl", "must be at least 1s, got %s", c.LeaseTTL)
	}
	if c.ShutdownGrace < 0 {
		bad("shutdown_grace", "must not be negative, got %s", c.ShutdownGrace)
	}
	if c.MaxBodyBytes < 1024 {
		bad("max_body_bytes", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.MaxPackageBytes < 1024 {
		bad("max_package_bytes", "must be at least 1024, got %d", c.MaxPackageBytes)
	}
	fields = append(fields, validateCatalogEngines(c.CatalogEngines)...)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "must be text or json, got %q", c.LogFormat)
	}
	if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("server", "must be an http:// or https:// URL, got %q", c.Server)
	}
	if c.User == "" {
		bad("user", "must not be empty")
	}
	if c.Output != outputText && c.Output != outputJSON {
		bad("output", "must be text or json, got %q", c.Output)
	}
	return invalidConfig("the configuration", fields)
}

// invalidConfig returns nil without fields, or a KindInvalid error saying
// where the bad values came from.
func invalidConfig(source string, fields []dbplane.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &dbplane.Error{
		Op:      "config",
		Kind:    dbplane.KindInvalid,
		Message: "invalid value in " + source,
		Fields:  fields,
	}
}

// ResolveConfig builds the effective configuration: defaults, then the file
// named by path (or $DBPLANE_CONFIG, or the user's config.toml if it
// exists), then the environment, then the flags set in fs; and validates it.
func ResolveConfig(path string, getenv func(string) string, fs flagVisitor) (*Config, error) {
	if path == "" {
		path = getenv("DBPLANE_CONFIG")
	}
	if path == "" {
		if p, err := userConfigFile(getenv, "config.toml"); err == nil {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	c, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return nil, err
	}
	if fs != nil {
		if err := c.ApplyFlags(fs); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// userConfigFile returns the path of name in the user's dbplane config
// directory: $XDG_CONFIG_HOME/dbplane, else $HOME/.config/dbplane.
func userConfigFile(getenv func(string) string, name string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "dbplane", name), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "dbplane", name), nil
	}
	return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set")
}

// keyByName returns the key with the given TOML name, or nil.
func keyByName(name string) *configKey {
	for i := range configKeys {
		if configKeys[i].name == name {
			return &configKeys[i]
		}
	}
	return nil
}
