package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// writeFile writes content to name in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mapEnv returns a getenv over vars.
func mapEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// serverFlags returns a flag set with every configuration flag, parsed
// from args.
func serverFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	bindConfigFlags(fs, serverFlagKeys...)
	bindConfigFlags(fs, globalFlagKeys...)
	bindConfigFlags(fs, "user")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// fieldsOf returns the field names of err's details.
func fieldsOf(err error) []string {
	var names []string
	for _, f := range dbplane.ErrorFields(err) {
		names = append(names, f.Field)
	}
	return names
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if got, want := c.StoreDSN(), "/var/lib/dbplane/dbplane.db"; got != want {
		t.Errorf("StoreDSN() = %q, want %q", got, want)
	}
	c.Store = "postgres://db/dbplane"
	if got, want := c.StoreDSN(), "postgres://db/dbplane"; got != want {
		t.Errorf("StoreDSN() = %q, want %q", got, want)
	}
}

// TestConfigPrecedence sets keys in several layers and checks that each
// ends with the value of the highest layer that set it:
// defaults < file < environment < flags.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "dbplane.toml", `
listen = "0.0.0.0:9000"      # file only
workers = 4                  # file, then env
lease_ttl = "20s"            # file, env, then flag
server = "http://file:8080"  # file, then flag
log_format = "json"          # file, env left empty
tls_cert_file = "/etc/dbplane/api.crt"  # file only
`)
	env := mapEnv(map[string]string{
		"DBPLANE_WORKERS":      "8",
		"DBPLANE_LEASE_TTL":    "25s",
		"DBPLANE_USER":         "ops", // env only
		"DBPLANE_LOG_FORMAT":   "",    // empty: does not override
		"DBPLANE_TLS_KEY_FILE": "/etc/dbplane/api.key",
		"DBPLANE_CA_FILE":      "/env/ca.pem", // env, then flag
	})
	fs := serverFlags(t, "--lease-ttl=30s", "--server=http://flag:8080", "--ca-file=/flag/ca.pem")
	c, err := ResolveConfig(file, env, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Listen = "0.0.0.0:9000"
	want.Workers = 8
	want.LeaseTTL = 30 * time.Second
	want.Server = "http://flag:8080"
	want.LogFormat = "json"
	want.User = "ops"
	want.TLSCertFile, want.TLSKeyFile = "/etc/dbplane/api.crt", "/etc/dbplane/api.key"
	want.CAFile = "/flag/ca.pem"
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("resolved config (-want +got):\n%s", diff)
	}
}

// TestConfigUnsetFlagsKeepLowerLayers checks that a flag's default never
// overrides the file or the environment: only flags the user set count.
func TestConfigUnsetFlagsKeepLowerLayers(t *testing.T) {
	file := writeFile(t, "dbplane.toml", `listen = "10.0.0.1:80"`)
	env := mapEnv(map[string]string{"DBPLANE_WORKERS": "3"})
	c, err := ResolveConfig(file, env, serverFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "10.0.0.1:80" || c.Workers != 3 {
		t.Errorf("Listen, Workers = %q, %d; want the file's and the environment's", c.Listen, c.Workers)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	file := writeFile(t, "dbplane.toml", `workers = 5`)
	c, err := ResolveConfig("", mapEnv(map[string]string{"DBPLANE_CONFIG": file}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 5 {
		t.Errorf("Workers = %d, want 5 from $DBPLANE_CONFIG", c.Workers)
	}
}

func TestConfigUserFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "dbplane"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dbplane", "config.toml"), []byte(`server = "https://cp.example:443"`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ResolveConfig("", mapEnv(map[string]string{"XDG_CONFIG_HOME": dir}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://cp.example:443" {
		t.Errorf("Server = %q, want the user config file's", c.Server)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		fields  []string // named in the error details
		message string   // in the error message
	}{
		{"UnknownKey", `wrokers = 4`, []string{"wrokers"}, ""},
		{"IntegerAsString", `workers = "4"`, []string{"workers"}, ""},
		{"DurationAsInteger", `lease_ttl = 15`, []string{"lease_ttl"}, ""},
		{"BadDuration", `shutdown_grace = "30 seconds"`, []string{"shutdown_grace"}, ""},
		{"StringAsInteger", `listen = 8080`, []string{"listen"}, ""},
		{"Several", "workers = 1.5\nmax_body_bytes = \"1MiB\"", []string{"max_body_bytes", "workers"}, ""},
		{"Syntax", "workers = \nlisten = 1", nil, "dbplane.toml:1:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, "dbplane.toml", tt.content))
			if err == nil {
				t.Fatal("LoadConfig succeeded, want an error")
			}
			if got := dbplane.ErrorKind(err); got != dbplane.KindInvalid {
				t.Errorf("kind = %v, want invalid", got)
			}
			if diff := cmp.Diff(tt.fields, fieldsOf(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(dbplane.ErrorMessage(err), tt.message) {
				t.Errorf("message %q does not contain %q", dbplane.ErrorMessage(err), tt.message)
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		_, err := LoadConfig(filepath.Join(t.TempDir(), "none.toml"))
		if err == nil || !strings.Contains(dbplane.ErrorMessage(err), "none.toml") {
			t.Fatalf("LoadConfig(missing) = %v, want an error naming the file", err)
		}
	})
}

func TestApplyEnvErrors(t *testing.T) {
	c := DefaultConfig()
	err := c.ApplyEnv(mapEnv(map[string]string{
		"DBPLANE_WORKERS":   "many",
		"DBPLANE_LEASE_TTL": "15", // a duration needs a unit
		"DBPLANE_LISTEN":    ":9090",
	}))
	if diff := cmp.Diff([]string{"DBPLANE_WORKERS", "DBPLANE_LEASE_TTL"}, fieldsOf(err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if c.Listen != ":9090" {
		t.Errorf("Listen = %q: good variables must still apply", c.Listen)
	}
}

func TestConfigFlagErrors(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	bindConfigFlags(fs, serverFlagKeys...)
	err := fs.Parse([]string{"--workers=x"})
	if err == nil || !strings.Contains(err.Error(), "--workers") || !strings.Contains(err.Error(), "must be an integer") {
		t.Fatalf("Parse(--workers=x) = %v, want an error naming --workers", err)
	}
	err = fs.Parse([]string{"--lease-ttl=soon"})
	if err == nil || !strings.Contains(err.Error(), "--lease-ttl") {
		t.Fatalf("Parse(--lease-ttl=soon) = %v, want an error naming --lease-ttl", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		key string
		set func(*Config)
	}{
		{"listen", func(c *Config) { c.Listen = "8080" }},
		{"data_dir", func(c *Config) { c.DataDir = "" }},
		{"advertise_url", func(c *Config) { c.AdvertiseURL = "http://db.example.com:8080" }},
		{"advertise_url", func(c *Config) { c.AdvertiseURL = "https://db.example.com:8080/api" }},
		{"advertise_url", func(c *Config) { c.AdvertiseURL = "db.example.com:8080" }},
		{"tls_cert_file", func(c *Config) { c.TLSCertFile = "/etc/dbplane/api.crt" }},
		{"tls_cert_file", func(c *Config) { c.TLSKeyFile = "/etc/dbplane/api.key" }},
		{"workers", func(c *Config) { c.Workers = 0 }},
		{"lease_ttl", func(c *Config) { c.LeaseTTL = 10 * time.Millisecond }},
		{"shutdown_grace", func(c *Config) { c.ShutdownGrace = -time.Second }},
		{"max_body_bytes", func(c *Config) { c.MaxBodyBytes = 0 }},
		{"log_level", func(c *Config) { c.LogLevel = "verbose" }},
		{"log_format", func(c *Config) { c.LogFormat = "xml" }},
		{"server", func(c *Config) { c.Server = "127.0.0.1:8080" }},
		{"user", func(c *Config) { c.User = "" }},
		{"output", func(c *Config) { c.Output = "yaml" }},
	} {
		t.Run(tt.key, func(t *testing.T) {
			c := DefaultConfig()
			tt.set(c)
			err := c.Validate()
			if diff := cmp.Diff([]string{tt.key}, fieldsOf(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	c := DefaultConfig()
	c.LogFormat, c.LogLevel = "json", "warn"
	log := c.NewLogger(&b)
	log.Info("hidden")
	log.Warn("shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) {
		t.Errorf("log output = %q, want only the warning, as JSON", got)
	}
}

// TestConfigDocumented keeps docs/configuration.md in step with the keys.
func TestConfigDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys {
		for _, name := range []string{"`" + k.name + "`", "`" + k.env + "`"} {
			if !strings.Contains(string(doc), name) {
				t.Errorf("docs/configuration.md does not mention %s", name)
			}
		}
		if k.flag != "" && !strings.Contains(string(doc), "`--"+k.flag) {
			t.Errorf("docs/configuration.md does not mention --%s", k.flag)
		}
	}
}
