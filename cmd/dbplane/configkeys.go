package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/spf13/pflag"
)

// configKey describes one configuration key in every layer that can set it,
// so the file, the environment and the flags share one parser and one set of
// names (docs/configuration.md lists the same table).
type configKey struct {
	name      string // TOML key
	env       string // environment variable
	flag      string // flag name; empty when the key has no flag
	shorthand string // one-letter flag, if any
	usage     string // flag help
	field     func(*Config) any
}

// configKeys is every configuration key, in documentation order.
var configKeys = []configKey{
	{name: "listen", env: "DBPLANE_LISTEN", flag: "listen", usage: "address the control plane listens on",
		field: func(c *Config) any { return &c.Listen }},
	{name: "advertise_url", env: "DBPLANE_ADVERTISE_URL", flag: "advertise-url", usage: "https URL agents and clients reach the control plane at (default: the listen address)",
		field: func(c *Config) any { return &c.AdvertiseURL }},
	{name: "data_dir", env: "DBPLANE_DATA_DIR", flag: "data-dir", usage: "directory of the control plane's local state",
		field: func(c *Config) any { return &c.DataDir }},
	{name: "store", env: "DBPLANE_STORE", flag: "store", usage: "metadata store DSN (default: SQLite file <data-dir>/dbplane.db)",
		field: func(c *Config) any { return &c.Store }},
	{name: "workers", env: "DBPLANE_WORKERS", flag: "workers", usage: "number of subtasks run at once",
		field: func(c *Config) any { return &c.Workers }},
	{name: "lease_ttl", env: "DBPLANE_LEASE_TTL", flag: "lease-ttl", usage: "lease of a running subtask",
		field: func(c *Config) any { return &c.LeaseTTL }},
	{name: "shutdown_grace", env: "DBPLANE_SHUTDOWN_GRACE", flag: "shutdown-grace", usage: "how long shutdown waits for running subtasks",
		field: func(c *Config) any { return &c.ShutdownGrace }},
	{name: "max_body_bytes", env: "DBPLANE_MAX_BODY_BYTES", flag: "max-body-bytes", usage: "largest request body accepted",
		field: func(c *Config) any { return &c.MaxBodyBytes }},
	{name: "max_package_bytes", env: "DBPLANE_MAX_PACKAGE_BYTES", usage: "largest software package file accepted",
		field: func(c *Config) any { return &c.MaxPackageBytes }},
	{name: "catalog_engines",
		field: func(c *Config) any { return &c.CatalogEngines }},
	{name: "log_level", env: "DBPLANE_LOG_LEVEL", flag: "log-level", usage: "debug, info, warn or error",
		field: func(c *Config) any { return &c.LogLevel }},
	{name: "log_format", env: "DBPLANE_LOG_FORMAT", flag: "log-format", usage: "text or json",
		field: func(c *Config) any { return &c.LogFormat }},
	{name: "tls_cert_file", env: "DBPLANE_TLS_CERT_FILE", flag: "tls-cert-file", usage: "PEM certificate chain the API serves (default: one issued by the control plane's CA)",
		field: func(c *Config) any { return &c.TLSCertFile }},
	{name: "tls_key_file", env: "DBPLANE_TLS_KEY_FILE", flag: "tls-key-file", usage: "PEM key of --tls-cert-file",
		field: func(c *Config) any { return &c.TLSKeyFile }},
	{name: "admin_password", env: "DBPLANE_ADMIN_PASSWORD",
		field: func(c *Config) any { return &c.AdminPassword }},
	{name: "server", env: "DBPLANE_SERVER", flag: "server", usage: "URL of the dbplane control plane",
		field: func(c *Config) any { return &c.Server }},
	{name: "ca_file", env: "DBPLANE_CA_FILE", flag: "ca-file", usage: "PEM CA certificates to verify the server with (default: the CA saved by dbplane login, else the system's)",
		field: func(c *Config) any { return &c.CAFile }},
	{name: "token", env: "DBPLANE_TOKEN", flag: "token", usage: "bearer token (default: the one saved by dbplane login)",
		field: func(c *Config) any { return &c.Token }},
	{name: "user", env: "DBPLANE_USER", flag: "user", usage: "user to log in as",
		field: func(c *Config) any { return &c.User }},
	{name: "password", env: "DBPLANE_PASSWORD",
		field: func(c *Config) any { return &c.Password }},
	{name: "output", env: "DBPLANE_OUTPUT", flag: "output", shorthand: "o", usage: "output format: text or json",
		field: func(c *Config) any { return &c.Output }},
}

// Key groups for bindConfigFlags.
var (
	// serverFlagKeys are the flags of commands that run a control plane.
	serverFlagKeys = []string{"listen", "advertise_url", "data_dir", "store", "workers", "lease_ttl", "shutdown_grace", "max_body_bytes",
		"tls_cert_file", "tls_key_file", "log_level", "log_format"}
	// globalFlagKeys are the root's persistent flags.
	globalFlagKeys = []string{"server", "ca_file", "token", "output"}
)

var (
	errNotString   = errors.New("must be a string")
	errNotInteger  = errors.New("must be an integer")
	errNotDuration = errors.New(`must be a duration such as "15s" or "1m30s"`)
)

// parse sets the key in c from its text form, as found in the environment
// or on the command line.
func (k *configKey) parse(c *Config, s string) error {
	switch p := k.field(c).(type) {
	case *string:
		*p = s
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%w, got %q", errNotInteger, s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%w, got %q", errNotInteger, s)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%w, got %q", errNotDuration, s)
		}
		*p = d
	case *[]dbplane.EngineVersion:
		return errCatalogFileOnly
	default:
		panic(fmt.Sprintf("config key %s has an unsupported type %T", k.name, p))
	}
	return nil
}

// decode sets the key in c from a decoded TOML value. Durations are TOML
// strings in Go syntax; numbers must be TOML integers.
func (k *configKey) decode(c *Config, v any) error {
	switch p := k.field(c).(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return errNotString
		}
		*p = s
	case *int:
		n, ok := v.(int64)
		if !ok {
			return errNotInteger
		}
		*p = int(n)
	case *int64:
		n, ok := v.(int64)
		if !ok {
			return errNotInteger
		}
		*p = n
	case *time.Duration:
		s, ok := v.(string)
		if !ok {
			return errNotDuration
		}
		return k.parse(c, s)
	case *[]dbplane.EngineVersion:
		evs, err := decodeCatalogEngines(v)
		if err != nil {
			return err
		}
		*p = evs
	default:
		panic(fmt.Sprintf("config key %s has an unsupported type %T", k.name, p))
	}
	return nil
}

// format returns the key's value in c in the text form parse accepts.
func (k *configKey) format(c *Config) string {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return p.String()
	case *[]dbplane.EngineVersion:
		return fmt.Sprintf("%d entries", len(*p))
	}
	panic(fmt.Sprintf("config key %s has an unsupported type", k.name))
}

// typeName is the value's name in flag help.
func (k *configKey) typeName() string {
	switch k.field(&Config{}).(type) {
	case *int, *int64:
		return "int"
	case *time.Duration:
		return "duration"
	}
	return "string"
}

// configFlag is a flag that sets a configuration key. It only records the
// text the user gave: ApplyFlags applies it after the file and the
// environment, so that a flag wins only when it was actually set.
type configFlag struct {
	key   *configKey
	value string
}

func (f *configFlag) String() string { return f.value }
func (f *configFlag) Type() string   { return f.key.typeName() }

// Set checks the value at parse time so a bad flag is a usage error that
// names the flag.
func (f *configFlag) Set(s string) error {
	if err := f.key.parse(&Config{}, s); err != nil {
		return err
	}
	f.value = s
	return nil
}

// bindConfigFlags defines on fs the flags of the named configuration keys,
// with the defaults of DefaultConfig in their help. Commands that run a
// control plane bind serverFlagKeys this way and read the resolved *Config
// in RunE: the root resolves it (defaults < file < env < flags) before any
// command runs.
func bindConfigFlags(fs *pflag.FlagSet, names ...string) {
	def := DefaultConfig()
	for _, name := range names {
		k := keyByName(name)
		if k == nil || k.flag == "" {
			panic("no flag for config key " + name)
		}
		fs.VarP(&configFlag{key: k, value: k.format(def)}, k.flag, k.shorthand, k.usage)
	}
}

// flagVisitor is the part of *pflag.FlagSet ApplyFlags needs.
type flagVisitor interface {
	Visit(func(*pflag.Flag))
}

// ApplyFlags overlays the configuration flags (see bindConfigFlags) that
// were set on the command line. Errors name the flags.
func (c *Config) ApplyFlags(fs flagVisitor) error {
	var fields []dbplane.FieldError
	fs.Visit(func(f *pflag.Flag) {
		cf, ok := f.Value.(*configFlag)
		if !ok {
			return
		}
		if err := cf.key.parse(c, cf.value); err != nil {
			fields = append(fields, dbplane.FieldError{Field: "--" + f.Name, Message: err.Error()})
		}
	})
	return invalidConfig("the flags", fields)
}
