package service_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

func TestProjects(t *testing.T) {
	w := newWorld(t)

	t.Run("CreateInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			p     dbplane.Project
			field string
		}{
			{dbplane.Project{}, "name"},
			{dbplane.Project{Name: "Upper"}, "name"},
			{dbplane.Project{Name: "9lives"}, "name"},
			{dbplane.Project{Name: "trailing-"}, "name"},
			{dbplane.Project{Name: "under_score"}, "name"},
			{dbplane.Project{Name: strings.Repeat("a", 64)}, "name"},
			{dbplane.Project{Name: "ok", Description: strings.Repeat("d", 257)}, "description"},
			{dbplane.Project{Name: "ok", Quota: dbplane.Quota{Clusters: -1}}, "quota.clusters"},
			{dbplane.Project{Name: "ok", Quota: dbplane.Quota{Nodes: -1}}, "quota.nodes"},
			{dbplane.Project{Name: "ok", Quota: dbplane.Quota{StorageGB: -1}}, "quota.storage_gb"},
		} {
			err := w.id.CreateProject(system(), &tt.p)
			wantKind(t, err, dbplane.KindInvalid, "")
			wantField(t, err, tt.field)
		}
		if err := w.id.CreateProject(system(), &dbplane.Project{Name: strings.Repeat("a", 63)}); err != nil {
			t.Fatalf("a 63-character name: %v", err)
		}
		wantKind(t, w.id.CreateProject(system(), &dbplane.Project{Name: "alpha"}), dbplane.KindConflict, "")
	})

	t.Run("GlobalAdminsOnly", func(t *testing.T) {
		for _, p := range []*dbplane.Principal{w.gviewer, w.betaAdm, w.operator} {
			ctx := as(p)
			wantKind(t, w.id.CreateProject(ctx, &dbplane.Project{Name: "mine"}), dbplane.KindForbidden, "")
			// Those who can read beta learn they may not change it; the
			// others get the answer for a missing project.
			want := dbplane.KindForbidden
			if p == w.operator {
				want = dbplane.KindNotFound
			}
			wantKind(t, w.id.UpdateProject(ctx, &dbplane.Project{ID: w.beta.ID, Quota: dbplane.Quota{Clusters: 99}}), want, "")
			wantKind(t, w.id.DeleteProject(ctx, w.beta.ID), want, "")
		}
		wantKind(t, w.id.CreateProject(context.Background(), &dbplane.Project{Name: "mine"}), dbplane.KindUnauthorized, "")
	})

	t.Run("Read", func(t *testing.T) {
		w.mustCluster(t, w.operator, "alpha", "ledger")
		p, err := w.id.FindProjectByID(as(w.viewer), w.alpha.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "alpha" || p.Usage == nil || p.Usage.Clusters != 1 || p.Usage.Nodes != 1 || p.Usage.StorageGB != 20 {
			t.Fatalf("project %+v usage %+v, want alpha holding 1 cluster of 1 node and 20 GB", p, p.Usage)
		}
		// No role in alpha: the answer of a missing project.
		for _, id := range []int64{w.alpha.ID, 999, 0} {
			_, err = w.id.FindProjectByID(as(w.betaAdm), id)
			wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("project %d not found", id))
		}
		ps, total, err := w.id.FindProjects(as(w.viewer), dbplane.ProjectFilter{})
		if err != nil || total != 1 || len(ps) != 1 || ps[0].ID != w.alpha.ID {
			t.Fatalf("viewer's projects %v (total %d), %v; want alpha alone", ps, total, err)
		}
		if _, total, _ := w.id.FindProjects(as(w.nobody), dbplane.ProjectFilter{}); total != 0 {
			t.Fatalf("nobody sees %d projects", total)
		}
		if _, total, _ := w.id.FindProjects(as(w.gviewer), dbplane.ProjectFilter{}); total < 3 {
			t.Fatalf("a global viewer sees %d projects, want every one", total)
		}
	})

	t.Run("UpdateAndDelete", func(t *testing.T) {
		p := w.mustProject(t, "scratch")
		up := &dbplane.Project{ID: p.ID, Name: "renamed", Description: "Scratch space", Quota: dbplane.Quota{Clusters: 2}}
		e := &dbplane.AuditEvent{}
		if err := w.id.UpdateProject(dbplane.WithAudit(as(w.admin), e), up); err != nil {
			t.Fatal(err)
		}
		if up.Name != "scratch" || up.Description != "Scratch space" || up.Quota.Clusters != 2 {
			t.Fatalf("updated project %+v, want the stored one with its name kept", up)
		}
		if e.Target != fmt.Sprintf("project/%d", p.ID) || e.ProjectID != p.ID {
			t.Fatalf("audit target %q project %d", e.Target, e.ProjectID)
		}
		err := w.id.UpdateProject(as(w.admin), &dbplane.Project{ID: p.ID, Quota: dbplane.Quota{Nodes: -5}})
		wantField(t, err, "quota.nodes")

		e = &dbplane.AuditEvent{}
		if err := w.id.DeleteProject(dbplane.WithAudit(as(w.admin), e), p.ID); err != nil {
			t.Fatal(err)
		}
		if e.Project != "scratch" {
			t.Fatalf("audit of a deleted project names %q", e.Project)
		}
		wantKind(t, w.id.DeleteProject(as(w.admin), w.alpha.ID), dbplane.KindConflict, "") // holds a cluster
		def, err := w.db.FindProjectByName(context.Background(), dbplane.DefaultProject)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, w.id.DeleteProject(as(w.admin), def.ID), dbplane.KindConflict, "the default project cannot be deleted")
	})
}

func TestUsers(t *testing.T) {
	var log bytes.Buffer
	w := newWorld(t)
	w.id.Logger = slog.New(slog.NewTextHandler(&log, nil))

	t.Run("CreateInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name, password, field string
			bindings              []dbplane.RoleBinding
		}{
			{"", testPassword, "name", nil},
			{"has space", testPassword, "name", nil},
			{"-dash", testPassword, "name", nil},
			{strings.Repeat("u", 65), testPassword, "name", nil},
			{"short", "elevenchars", "password", nil},
			{"longenoughname", "LongEnoughName", "password", nil},
			{"ctrl", "twelve chars\x00!", "password", nil},
			{"roles", testPassword, "bindings[0].role", []dbplane.RoleBinding{{ProjectID: w.alpha.ID, Role: "owner"}}},
		} {
			err := w.id.CreateUser(system(), &dbplane.User{Name: tt.name, Bindings: tt.bindings}, tt.password)
			wantKind(t, err, dbplane.KindInvalid, "")
			wantField(t, err, tt.field)
			if strings.Contains(err.Error(), tt.password) {
				t.Fatalf("error %q shows the password", err)
			}
		}
		wantKind(t, w.id.CreateUser(system(), &dbplane.User{Name: "olga"}, testPassword), dbplane.KindConflict, "")
		wantKind(t, w.id.CreateUser(as(w.betaAdm), &dbplane.User{Name: "newbie"}, testPassword), dbplane.KindForbidden, "")
	})

	t.Run("CreateLogsIn", func(t *testing.T) {
		u := &dbplane.User{Name: "mail.user@example.com", Bindings: []dbplane.RoleBinding{bind(w.alpha.ID, dbplane.RoleViewer)}}
		if err := w.id.CreateUser(system(), u, "a long pass phrase"); err != nil {
			t.Fatal(err)
		}
		if len(u.Bindings) != 1 || u.Bindings[0].ProjectName != "alpha" {
			t.Fatalf("created user's bindings %+v, want viewer on alpha", u.Bindings)
		}
		p, err := w.auth.AuthenticatePassword(context.Background(), u.Name, "a long pass phrase")
		if err != nil || p.User.ID != u.ID {
			t.Fatalf("log in: %+v, %v", p, err)
		}
	})

	t.Run("Read", func(t *testing.T) {
		u, err := w.id.FindUserByID(as(w.operator), w.operator.User.ID)
		if err != nil || u.Name != "olga" {
			t.Fatalf("a user reading itself: %+v, %v", u, err)
		}
		_, err = w.id.FindUserByID(as(w.operator), w.viewer.User.ID)
		wantKind(t, err, dbplane.KindForbidden, "")
		if _, err := w.id.FindUserByID(as(w.gviewer), w.viewer.User.ID); err != nil {
			t.Fatalf("a global viewer reading a user: %v", err)
		}
		if _, total, err := w.id.FindUsers(as(w.gviewer), dbplane.UserFilter{}); err != nil || total < 6 {
			t.Fatalf("a global viewer lists %d users, %v", total, err)
		}
		_, _, err = w.id.FindUsers(as(w.betaAdm), dbplane.UserFilter{})
		wantKind(t, err, dbplane.KindForbidden, "")
		_, _, err = w.id.FindUsers(as(w.operator), dbplane.UserFilter{Name: new("victor")})
		wantKind(t, err, dbplane.KindForbidden, "")
		// A project admin looks a user up to bind it, and sees none of
		// its bindings elsewhere.
		us, total, err := w.id.FindUsers(as(w.betaAdm), dbplane.UserFilter{Name: new("victor")})
		if err != nil || total != 1 || us[0].ID != w.viewer.User.ID {
			t.Fatalf("project admin's lookup: %v (%d), %v", us, total, err)
		}
		if len(us[0].Bindings) != 0 {
			t.Fatalf("project admin of beta sees victor's bindings %+v", us[0].Bindings)
		}
	})

	t.Run("SetPassword", func(t *testing.T) {
		tok, err := w.auth.IssueToken(context.Background(), "victor", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		err = w.id.SetUserPassword(as(w.viewer), w.viewer.User.ID, testPassword, "short")
		wantField(t, err, "password")
		wantKind(t, w.id.SetUserPassword(as(w.viewer), w.operator.User.ID, testPassword, "another long phrase"), dbplane.KindForbidden, "")
		wantKind(t, w.id.SetUserPassword(as(w.betaAdm), w.viewer.User.ID, testPassword, "another long phrase"), dbplane.KindForbidden, "")
		if err := w.id.SetUserPassword(as(w.viewer), w.viewer.User.ID, testPassword, "victor's new phrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.auth.Authenticate(context.Background(), tok.Secret); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Fatalf("a token survived its password: %v", err)
		}
		if err := w.id.SetUserPassword(as(w.admin), w.viewer.User.ID, "", testPassword); err != nil {
			t.Fatalf("a global admin resetting a password: %v", err)
		}
		if _, err := w.auth.AuthenticatePassword(context.Background(), "victor", testPassword); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		doomed := w.mustUser(t, "doomed")
		wantKind(t, w.id.DeleteUser(as(doomed), doomed.User.ID), dbplane.KindForbidden, "")
		if err := w.id.DeleteUser(as(w.admin), doomed.User.ID); err != nil {
			t.Fatal(err)
		}
		wantKind(t, w.id.DeleteUser(as(w.admin), doomed.User.ID), dbplane.KindNotFound, "")
	})

	for _, secret := range []string{testPassword, "a long pass phrase", "victor's new phrase"} {
		if strings.Contains(log.String(), secret) {
			t.Fatalf("the log shows a password:\n%s", log.String())
		}
	}
}

func TestBindings(t *testing.T) {
	w := newWorld(t)
	nemo := w.nobody.User.ID

	t.Run("ProjectAdmin", func(t *testing.T) {
		e := &dbplane.AuditEvent{}
		b := &dbplane.RoleBinding{UserID: nemo, ProjectID: w.beta.ID, Role: dbplane.RoleAdmin}
		if err := w.id.BindRole(dbplane.WithAudit(as(w.betaAdm), e), b); err != nil {
			t.Fatal(err)
		}
		if e.Target != fmt.Sprintf("binding/%d/%d", nemo, w.beta.ID) || e.ProjectID != w.beta.ID {
			t.Fatalf("audit target %q project %d", e.Target, e.ProjectID)
		}
		if !w.reload(t, nemo).Can(dbplane.ActionManage, w.beta.ID) {
			t.Fatal("the binding did not take")
		}
		// Binding again replaces the role.
		if err := w.id.BindRole(as(w.betaAdm), &dbplane.RoleBinding{UserID: nemo, ProjectID: w.beta.ID, Role: dbplane.RoleViewer}); err != nil {
			t.Fatal(err)
		}
		if p := w.reload(t, nemo); p.Can(dbplane.ActionOperate, w.beta.ID) || !p.Can(dbplane.ActionRead, w.beta.ID) {
			t.Fatalf("bindings after a rebind: %+v", p.User.Bindings)
		}
		if err := w.id.UnbindRole(as(w.betaAdm), nemo, w.beta.ID); err != nil {
			t.Fatal(err)
		}
		if w.reload(t, nemo).Can(dbplane.ActionRead, w.beta.ID) {
			t.Fatal("the unbinding did not take")
		}
	})

	t.Run("Refused", func(t *testing.T) {
		bindAs := func(p *dbplane.Principal, project int64, role string) error {
			return w.id.BindRole(as(p), &dbplane.RoleBinding{UserID: nemo, ProjectID: project, Role: role})
		}
		// beta's admin cannot see alpha: it does not exist for it.
		wantKind(t, bindAs(w.betaAdm, w.alpha.ID, dbplane.RoleViewer), dbplane.KindNotFound, fmt.Sprintf("project %d not found", w.alpha.ID))
		wantKind(t, bindAs(w.betaAdm, 999, dbplane.RoleViewer), dbplane.KindNotFound, "project 999 not found")
		wantKind(t, w.id.UnbindRole(as(w.betaAdm), w.operator.User.ID, w.alpha.ID), dbplane.KindNotFound, "")
		// alpha's operator sees alpha, but may not manage it.
		wantKind(t, bindAs(w.operator, w.alpha.ID, dbplane.RoleViewer), dbplane.KindForbidden, "")
		wantKind(t, bindAs(w.betaAdm, dbplane.GlobalScope, dbplane.RoleViewer), dbplane.KindForbidden, "")
		wantKind(t, bindAs(w.gviewer, dbplane.GlobalScope, dbplane.RoleViewer), dbplane.KindForbidden, "")
		err := bindAs(w.admin, w.alpha.ID, "superuser")
		wantKind(t, err, dbplane.KindInvalid, "")
		wantField(t, err, "role")
		err = w.id.BindRole(as(w.admin), &dbplane.RoleBinding{ProjectID: w.alpha.ID, Role: dbplane.RoleViewer})
		wantField(t, err, "user_id")
		wantKind(t, bindAs(nil, w.alpha.ID, dbplane.RoleViewer), dbplane.KindUnauthorized, "")
	})

	t.Run("FindMembers", func(t *testing.T) {
		ms, err := w.id.FindMembers(as(w.betaAdm), w.beta.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range ms {
			if m.ProjectID != w.beta.ID {
				t.Errorf("member %+v is not of beta", m)
			}
			found = found || m.UserID == w.betaAdm.User.ID
		}
		if !found {
			t.Errorf("beta's admin is missing from beta's members %+v", ms)
		}
		_, err = w.id.FindMembers(as(w.betaAdm), w.alpha.ID)
		wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("project %d not found", w.alpha.ID))
		_, err = w.id.FindMembers(as(w.betaAdm), dbplane.GlobalScope)
		wantKind(t, err, dbplane.KindForbidden, "")
		if _, err := w.id.FindMembers(as(w.gviewer), dbplane.GlobalScope); err != nil {
			t.Fatalf("a global viewer lists global members: %v", err)
		}
	})

	t.Run("LastGlobalAdmin", func(t *testing.T) {
		root := w.admin.User.ID
		const msg = "it holds the last global admin binding"
		for _, err := range []error{
			w.id.UnbindRole(as(w.admin), root, dbplane.GlobalScope),
			w.id.BindRole(as(w.admin), &dbplane.RoleBinding{UserID: root, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleViewer}),
			w.id.DeleteUser(as(w.admin), root),
		} {
			wantKind(t, err, dbplane.KindConflict, "")
			if !strings.Contains(dbplane.ErrorMessage(err), msg) {
				t.Fatalf("message %q does not say why", dbplane.ErrorMessage(err))
			}
		}
		if err := w.id.BindRole(as(w.admin), &dbplane.RoleBinding{UserID: nemo, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		if err := w.id.UnbindRole(as(w.admin), root, dbplane.GlobalScope); err != nil {
			t.Fatalf("with another global admin: %v", err)
		}
		wantKind(t, w.id.UnbindRole(as(w.reload(t, nemo)), nemo, dbplane.GlobalScope), dbplane.KindConflict, "")
	})
}

func TestTokens(t *testing.T) {
	w := newWorld(t)
	mine, err := w.auth.IssueToken(context.Background(), "olga", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	olga := w.operator.User.ID

	ts, err := w.id.FindTokens(as(w.operator), olga)
	if err != nil || len(ts) != 1 || ts[0].ID != mine.ID || ts[0].Secret != "" {
		t.Fatalf("own tokens %+v, %v; want the one issued, without its secret", ts, err)
	}
	if ts, err := w.id.FindTokens(as(w.admin), olga); err != nil || len(ts) != 1 {
		t.Fatalf("a global admin listing tokens: %v, %v", ts, err)
	}
	// Others' tokens do not exist for non-admins, not even for global
	// viewers.
	for _, p := range []*dbplane.Principal{w.viewer, w.gviewer, w.betaAdm} {
		_, err := w.id.FindTokens(as(p), olga)
		wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("user %d not found", olga))
		wantKind(t, w.id.RevokeToken(as(p), mine.ID), dbplane.KindNotFound, fmt.Sprintf("token %d not found", mine.ID))
	}
	wantKind(t, w.id.RevokeToken(as(w.operator), 999), dbplane.KindNotFound, "token 999 not found")
	if _, err := w.auth.Authenticate(context.Background(), mine.Secret); err != nil {
		t.Fatalf("a refused revocation revoked: %v", err)
	}
	e := &dbplane.AuditEvent{}
	if err := w.id.RevokeToken(dbplane.WithAudit(as(w.operator), e), mine.ID); err != nil {
		t.Fatal(err)
	}
	if e.Target != fmt.Sprintf("token/%d", mine.ID) {
		t.Fatalf("audit target %q", e.Target)
	}
	if _, err := w.auth.Authenticate(context.Background(), mine.Secret); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
		t.Fatalf("a revoked token still works: %v", err)
	}
}

func TestAccessKeys(t *testing.T) {
	var log bytes.Buffer
	w := newWorld(t)
	w.id.Logger = slog.New(slog.NewTextHandler(&log, nil))
	olga := w.operator.User.ID
	ctx := as(w.operator)

	e := &dbplane.AuditEvent{}
	k, err := w.id.CreateAccessKey(dbplane.WithAudit(ctx, e), olga, "CI pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^DBPAK[A-Z2-7]{15}$`).MatchString(k.ID) {
		t.Fatalf("access key id %q, want DBPAK and 15 base32 characters", k.ID)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{40}$`).MatchString(k.Secret) {
		t.Fatalf("secret of %d characters, want 40 of base64url", len(k.Secret))
	}
	if k.UserID != olga || k.Description != "CI pipeline" || e.Target != "access-key/"+k.ID {
		t.Fatalf("key %+v, audit target %q", k, e.Target)
	}
	// The secret signs requests, and is never shown again.
	verify := func(s string) error {
		if s != k.Secret {
			return dbplane.Errorf(dbplane.KindUnauthorized, "mismatch")
		}
		return nil
	}
	if p, err := w.auth.AuthenticateSignature(context.Background(), k.ID, verify); err != nil || p.User.ID != olga {
		t.Fatalf("signing with the new key: %+v, %v", p, err)
	}
	keys, err := w.id.FindAccessKeys(ctx, olga)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Secret != "" {
		t.Fatalf("keys %+v, %v; want the key without its secret", keys, err)
	}

	t.Run("Others", func(t *testing.T) {
		for _, p := range []*dbplane.Principal{w.viewer, w.gviewer, w.betaAdm} {
			_, err := w.id.CreateAccessKey(as(p), olga, "")
			wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("user %d not found", olga))
			_, err = w.id.FindAccessKeys(as(p), olga)
			wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("user %d not found", olga))
			wantKind(t, w.id.DeleteAccessKey(as(p), k.ID), dbplane.KindNotFound, fmt.Sprintf("access key %q not found", k.ID))
		}
		wantKind(t, w.id.DeleteAccessKey(ctx, "DBPAKNOSUCHKEY000000"), dbplane.KindNotFound, `access key "DBPAKNOSUCHKEY000000" not found`)
		if keys, err := w.id.FindAccessKeys(as(w.admin), olga); err != nil || len(keys) != 1 {
			t.Fatalf("a global admin listing keys: %v, %v", keys, err)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		_, err := w.id.CreateAccessKey(ctx, olga, strings.Repeat("d", 257))
		wantField(t, err, "description")
		for range service.MaxAccessKeys - 1 {
			if _, err := w.id.CreateAccessKey(ctx, olga, ""); err != nil {
				t.Fatal(err)
			}
		}
		_, err = w.id.CreateAccessKey(ctx, olga, "")
		wantKind(t, err, dbplane.KindConflict, "")
	})

	t.Run("Delete", func(t *testing.T) {
		if err := w.id.DeleteAccessKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.auth.AuthenticateSignature(context.Background(), k.ID, verify); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Fatalf("a deleted key still signs: %v", err)
		}
	})

	if strings.Contains(log.String(), k.Secret) {
		t.Fatalf("the log shows a secret key:\n%s", log.String())
	}
}
