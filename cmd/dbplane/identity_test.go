package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// identityCLI runs CLI commands against a real control plane as a user.
type identityCLI struct {
	t  *testing.T
	cp *testControlPlane
}

// as runs the CLI as user with password and returns its result.
func (c identityCLI) as(user, password string, args ...string) result {
	c.t.Helper()
	return runHTTPEnv(c.t, map[string]string{
		"DBPLANE_SERVER": c.cp.URL, "DBPLANE_CA_FILE": c.cp.CAFile,
		"DBPLANE_USER": user, "DBPLANE_PASSWORD": password,
		"XDG_CONFIG_HOME": c.t.TempDir(), "HOME": c.t.TempDir(),
	}, "", args...)
}

// in runs the CLI with a token saved by dbplane login in configDir, with
// password as the configured one, and stdin.
func (c identityCLI) in(configDir, user, password, stdin string, args ...string) result {
	c.t.Helper()
	return runHTTPEnv(c.t, map[string]string{
		"DBPLANE_SERVER": c.cp.URL, "DBPLANE_CA_FILE": c.cp.CAFile,
		"DBPLANE_USER": user, "DBPLANE_PASSWORD": password,
		"XDG_CONFIG_HOME": configDir, "HOME": configDir,
	}, stdin, args...)
}

// must fails the test unless r exited 0.
func must(t *testing.T, r result) result {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

var passwordLine = regexp.MustCompile(`(?m)^password: (\S+)$`)

// TestIdentityCommands drives projects, users, bindings, tokens, access keys
// and the audit log through the CLI against a real control plane, and
// checks what each role then may do.
func TestIdentityCommands(t *testing.T) {
	cli := identityCLI{t: t, cp: mustRunControlPlane(t)}
	admin := func(args ...string) result { t.Helper(); return cli.as(dbplane.AdminUser, testAdminPassword, args...) }

	must(t, admin("project", "create", "payments", "--description", "card payments", "--max-clusters", "2", "--max-nodes", "6"))
	r := must(t, admin("user", "create", "alice", "--bind", "payments=operator"))
	m := passwordLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("user create printed no password: %q", r.stdout)
	}
	alicePW := m[1]
	alice := func(args ...string) result { t.Helper(); return cli.as("alice", alicePW, args...) }

	var p dbplane.Project
	if err := json.Unmarshal([]byte(must(t, alice("-o", "json", "project", "show", "payments")).stdout), &p); err != nil {
		t.Fatal(err)
	}
	if p.Quota.Clusters != 2 || p.Quota.Nodes != 6 || p.Usage == nil || p.Usage.Clusters != 0 {
		t.Errorf("alice's view of payments: %+v", p)
	}
	must(t, admin("project", "update", "payments", "--max-storage-gb", "500"))
	if r := must(t, admin("project", "show", "payments")); !strings.Contains(r.stdout, "0 of 500") {
		t.Errorf("project show after update:\n%s", r.stdout)
	}

	// alice operates payments but administers nothing.
	if r := alice("user", "list"); r.code != exitError || !strings.Contains(r.stderr, "global") {
		t.Errorf("alice listing users: exit %d, %s", r.code, r.stderr)
	}
	if r := alice("project", "create", "rogue"); r.code != exitError {
		t.Errorf("alice creating a project: exit %d", r.code)
	}

	r = must(t, alice("access-key", "create", "--description", "ci"))
	ak := regexp.MustCompile(`(?m)^access_key: (DBPAK\S+)$`).FindStringSubmatch(r.stdout)
	if ak == nil || !strings.Contains(r.stdout, "secret_key: ") {
		t.Fatalf("access-key create printed %q", r.stdout)
	}
	r = must(t, alice("access-key", "list"))
	if !strings.Contains(r.stdout, ak[1]) || strings.Contains(r.stdout, "secret") {
		t.Errorf("access-key list:\n%s", r.stdout)
	}

	// The admin sees alice's tokens (each command above issued one), and
	// what she did in the audit log.
	if r := must(t, admin("token", "list", "--user", "alice")); strings.Count(r.stdout, "\n") < 2 {
		t.Errorf("alice's tokens:\n%s", r.stdout)
	}
	var page auditPage
	r = must(t, admin("-o", "json", "audit", "list", "--user", "alice", "--action", "access_key.create"))
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || page.Events[0].Result != dbplane.AuditResultSuccess {
		t.Errorf("audit of alice's key: %+v", page)
	}
	r = must(t, admin("-o", "json", "audit", "list", "--user", "alice", "--result", "forbidden"))
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || page.Total != 1 || page.Events[0].Action != "project.create" {
		t.Errorf("audit of alice's refused project: %+v, %v", page, err)
	}

	// Unbound, alice cannot even see that payments exists.
	must(t, admin("project", "unbind", "payments", "alice"))
	if r := alice("project", "show", "payments"); r.code != exitError || !strings.Contains(r.stderr, "not found") {
		t.Errorf("alice after unbind: exit %d, %s", r.code, r.stderr)
	}
	alicePW = selfPasswd(t, cli, "alice", alicePW)
	alice = func(args ...string) result { t.Helper(); return cli.as("alice", alicePW, args...) }
	must(t, alice("project", "list"))

	// A global admin sets alice's password without knowing hers.
	r = must(t, admin("user", "passwd", "alice"))
	if !strings.Contains(r.stderr, "1 access key is not") || strings.Contains(r.stderr, "your tokens") {
		t.Errorf("passwd of alice by the admin: %s", r.stderr)
	}
	if r := alice("project", "list"); r.code == exitOK {
		t.Error("alice's old password still works after passwd")
	}
	must(t, admin("user", "delete", "alice"))
	must(t, admin("project", "delete", "payments"))
}

// selfPasswd changes user's own password through the CLI and returns the
// new one. Logged in with a token, as a thief of the token would be, the
// CLI needs the current password: without one it says how to give it, a
// wrong one is refused, the right one works and the token dies.
func selfPasswd(t *testing.T, cli identityCLI, user, current string) string {
	t.Helper()
	dir := t.TempDir()
	must(t, cli.in(dir, user, current, "", "login"))
	if r := cli.in(dir, user, "", "Stolen-Account-1\n", "user", "passwd", user, "--password-stdin"); r.code != exitUsage ||
		!strings.Contains(r.stderr, "DBPLANE_PASSWORD") {
		t.Errorf("own passwd without the current password: exit %d, %s", r.code, r.stderr)
	}
	if r := cli.in(dir, user, "not-the-password", "Stolen-Account-1\n", "user", "passwd", user, "--password-stdin"); r.code != exitError ||
		!strings.Contains(r.stderr, "current_password") || !strings.Contains(r.stderr, "does not match") {
		t.Errorf("own passwd with a wrong current password: exit %d, %s", r.code, r.stderr)
	}
	must(t, cli.in(dir, user, "", "", "project", "list")) // the token survived the refusals
	const next = "Alice-Chose-This-1"
	r := must(t, cli.in(dir, user, current, next+"\n", "user", "passwd", user, "--password-stdin"))
	if !strings.Contains(r.stderr, "1 access key is not") || !strings.Contains(r.stderr, "your tokens") || r.stdout != "" {
		t.Errorf("own passwd: stdout %q, stderr %s", r.stdout, r.stderr)
	}
	if r := cli.in(dir, user, "", "", "project", "list"); r.code == exitOK {
		t.Error("the token survived its password")
	}
	if r := cli.as(user, current, "project", "list"); r.code == exitOK {
		t.Error("the old password still works after passwd")
	}
	return next
}
